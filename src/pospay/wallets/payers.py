"""The test payers of the wallet simulator, and the payment codes their apps show.

Like the issuer's test cards, each payer is documented with the behaviour it triggers
(`docs/wallets.md`), in every wallet: the same number means the same behaviour. A payer's
app shows a fresh payment code for every payment, in the shape its wallet publishes
(`pospay.qr.customer_codes`): the wallet's prefix, the payer's four-digit number, then
digits that change each time. A code pays once.

>>> code_for(Wallet.WECHAT, "0001", "123456789012")
'130001123456789012'
>>> payer_number(Wallet.WECHAT, "130001123456789012")
'0001'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pospay.money import Money
from pospay.qr.customer_codes import Wallet


class Behaviour(StrEnum):
    PAYS = "pays"  # pays at once
    USERPAYING = "userpaying"  # asks for the password: confirms after `delay` seconds (None: never)
    REFUSES = "refuses"  # the wallet's risk control refuses the payment
    NEVER_ANSWERS = "never_answers"  # pays, but the wallet never answers that call


class Notification(StrEnum):
    NORMAL = "normal"
    LOST = "lost"  # never delivered: the merchant must poll
    DUPLICATED = "duplicated"  # every delivery comes twice
    LATE = "late"  # the first delivery comes a minute late


@dataclass(frozen=True, slots=True)
class TestPayer:
    number: str  # four digits, the same in every wallet
    behaviour: Behaviour
    opening: Money
    notification: Notification = Notification.NORMAL
    delay: float | None = None  # USERPAYING: seconds until the payer confirms
    description: str = ""

    def payer_id(self, wallet: Wallet) -> str:
        return f"{wallet.value}-{self.number}"

    def masked(self, wallet: Wallet) -> str:
        """What the wallet tells the merchant about the payer: a masked account."""
        if wallet is Wallet.WECHAT:
            return f"oPOS****{self.number}"
        return f"138****{self.number}"


def _cny(major: int) -> Money:
    return Money(major * 100, "CNY")


TEST_PAYERS: tuple[TestPayer, ...] = (
    TestPayer("0001", Behaviour.PAYS, _cny(50_000), description="pays at once"),
    TestPayer(
        "0002",
        Behaviour.USERPAYING,
        _cny(50_000),
        delay=8.0,
        description="asks for the password (USERPAYING), confirms after 8 s",
    ),
    TestPayer(
        "0003",
        Behaviour.USERPAYING,
        _cny(50_000),
        description="asks for the password (USERPAYING), never confirms",
    ),
    TestPayer("0004", Behaviour.REFUSES, _cny(50_000), description="refused by risk control"),
    TestPayer("0005", Behaviour.PAYS, _cny(10), description="10.00 available: more is refused"),
    TestPayer(
        "0006", Behaviour.NEVER_ANSWERS, _cny(50_000), description="pays; the call is not answered"
    ),
    TestPayer(
        "0007", Behaviour.PAYS, _cny(50_000), Notification.LOST, description="notification lost"
    ),
    TestPayer(
        "0008",
        Behaviour.PAYS,
        _cny(50_000),
        Notification.DUPLICATED,
        description="every notification delivered twice",
    ),
    TestPayer(
        "0009", Behaviour.PAYS, _cny(50_000), Notification.LATE, description="notification late"
    ),
    TestPayer(
        "0010",
        Behaviour.USERPAYING,
        _cny(50_000),
        delay=40.0,
        description="asks for the password, confirms after 40 s (after a terminal gives up)",
    ),
)

PAYERS_BY_NUMBER = {payer.number: payer for payer in TEST_PAYERS}

# The prefix each wallet's codes start with, and their length (within the published rules).
CODE_SHAPES: dict[Wallet, tuple[str, int]] = {
    Wallet.WECHAT: ("13", 18),
    Wallet.ALIPAY: ("28", 18),
    Wallet.UNIONPAY: ("62", 19),
}


def code_for(wallet: Wallet, number: str, changing: str) -> str:
    """The payment code payer `number`'s app shows, `changing` filling the rest."""
    prefix, length = CODE_SHAPES[wallet]
    body = f"{prefix}{number}{changing}"
    if len(body) != length or not body.isdigit():
        raise ValueError(f"a {wallet.value} code is {length} digits")
    return body


def payer_number(wallet: Wallet, code: str) -> str | None:
    """The test payer number a code names, or None for a code of no test payer."""
    prefix, length = CODE_SHAPES[wallet]
    if len(code) != length or not code.startswith(prefix):
        return None
    number = code[len(prefix) : len(prefix) + 4]
    return number if number in PAYERS_BY_NUMBER else None
