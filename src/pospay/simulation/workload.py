"""What the simulated shops do: the cards customers bring and each cashier's next step.

The chaos cards are test cards of the simulator (Luhn-valid, in their brands' ranges,
never real) with balances deep enough that 100,000 attempts do not drain them; three
documented test cards that always decline (low balance, expired, restricted) and the
magic amounts keep declines in the mix. A cashier remembers what it was told (approved
sales and pre-authorisations) to void, refund, complete or cancel them later, as a
person at the till would; a crash of the terminal does not erase the cashier's memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pospay.cards import Brand
from pospay.issuer.test_cards import MAGIC_AMOUNTS, TEST_CARDS, TestCard
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.simulation.prepaid_customers import PrepaidCustomers, PrepaidStep
from pospay.transaction import Kind, Method
from pospay.wallets.payers import code_for

_CHAOS_BRANDS = (
    ("62123456", Brand.UNIONPAY, "135790"),
    ("40002000", Brand.VISA, "2468"),
    ("54133300", Brand.MASTERCARD, "8642"),
)
_DECLINING = tuple(card for card in TEST_CARDS if card.behaviour.startswith(("low", "exp", "res")))


def _with_check_digit(body: str) -> str:
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def chaos_cards(per_brand: int = 8) -> tuple[TestCard, ...]:
    """The cards of the simulation: `per_brand` deep cards of each brand, then the
    documented cards that decline."""
    cards = [
        TestCard(
            _with_check_digit(f"{prefix}{9_000_000 + number:07d}"),
            brand,
            "3012",
            pin,
            Money(1_000_000_000, "CNY"),
            "CHAOS CUSTOMER",
            "approves; 10,000,000.00 available",
        )
        for prefix, brand, pin in _CHAOS_BRANDS
        for number in range(per_brand)
    ]
    return (*cards, *_DECLINING)


_METHODS = (Method.CARD_CHIP, Method.CARD_CONTACTLESS, Method.CARD_MAGSTRIPE, Method.CARD_MANUAL)
_METHOD_WEIGHTS = (45, 30, 15, 10)

# Each step's kind, by weight; a follow-up with nothing to follow becomes a sale.
_STEPS = (
    Kind.SALE,
    Kind.BALANCE_INQUIRY,
    Kind.VOID,
    Kind.REFUND,
    Kind.PREAUTH,
    Kind.PREAUTH_COMPLETION,
    Kind.PREAUTH_CANCEL,
)
_STEP_WEIGHTS = (62, 5, 8, 7, 7, 7, 4)
# The share of steps a prepaid customer takes (`simulation.prepaid_customers`).
PREPAID_SHARE = 0.12

# The share of sales paid by QR, and the test payers (`wallets.payers`) who pay them.
QR_SHARE = 0.15
_QR_PAYERS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010")
_QR_PAYER_WEIGHTS = (50, 10, 4, 4, 4, 4, 6, 6, 6, 6)


@dataclass(frozen=True, slots=True)
class Step:
    kind: Kind
    card: TestCard | None = None
    method: Method = Method.CARD_CHIP
    with_pin: bool = False
    amount: Money | None = None
    original: str | None = None  # the voucher a follow-up acts on
    prepaid: PrepaidStep | None = None  # a prepaid customer's step
    # A QR sale: the wallet, the test payer, and for a customer's code the code itself.
    wallet: Wallet | None = None
    payer: str | None = None
    code: str | None = None

    @property
    def label(self) -> str:
        """What the report counts the step as: a prepaid payment or inquiry apart."""
        if self.prepaid is not None and self.kind in (Kind.SALE, Kind.BALANCE_INQUIRY):
            return f"prepaid_{self.kind.value}"
        return self.kind.value


@dataclass
class Cashier:
    """One till's person: picks the next step from its own seeded generator."""

    rng: random.Random
    cards: tuple[TestCard, ...]
    currency: str = "CNY"
    sales: list[tuple[str, int]] = field(default_factory=list)  # (voucher, amount)
    preauths: list[tuple[str, int]] = field(default_factory=list)
    prepaid: PrepaidCustomers | None = None

    def next_step(self) -> Step:
        if self.prepaid is not None and self.rng.random() < PREPAID_SHARE:
            own = self.prepaid.next_step(self.currency)
            if own is not None:
                return Step(own.kind, amount=own.amount, prepaid=own)
        kind = self.rng.choices(_STEPS, _STEP_WEIGHTS)[0]
        if kind is Kind.VOID and self.sales:
            voucher, _ = self.sales.pop(self.rng.randrange(len(self.sales)))
            return Step(kind, original=voucher)
        if kind is Kind.REFUND and self.sales:
            voucher, amount = self.sales.pop(self.rng.randrange(len(self.sales)))
            part = self.rng.randint(1, amount)
            return Step(kind, amount=Money(part, self.currency), original=voucher)
        if kind in (Kind.PREAUTH_COMPLETION, Kind.PREAUTH_CANCEL) and self.preauths:
            voucher, hold = self.preauths.pop(self.rng.randrange(len(self.preauths)))
            if kind is Kind.PREAUTH_CANCEL:
                return Step(kind, original=voucher)
            used = self.rng.randint(max(1, hold // 2), hold)
            return Step(kind, amount=Money(used, self.currency), original=voucher)
        if kind not in (Kind.SALE, Kind.BALANCE_INQUIRY, Kind.PREAUTH):
            kind = Kind.SALE
        if kind is Kind.SALE and self.rng.random() < QR_SHARE:
            return self._qr_step()
        return self._card_step(kind)

    def _qr_step(self) -> Step:
        """A sale paid by QR: a customer's code or the terminal's QR, either wallet, a
        test payer by weight (most pay, some ask for the password, refuse, run short,
        never answer or lose their notification); now and then a code no wallet issued."""
        wallet = self.rng.choice((Wallet.ALIPAY, Wallet.WECHAT))
        payer = self.rng.choices(_QR_PAYERS, _QR_PAYER_WEIGHTS)[0]
        amount = Money(self.rng.randint(100, 50_000), self.currency)
        if self.rng.random() < 0.5:
            return Step(
                Kind.SALE, method=Method.QR_MERCHANT, amount=amount, wallet=wallet, payer=payer
            )
        code = code_for(wallet, payer, f"{self.rng.randrange(10**12):012d}")
        if self.rng.random() < 0.02:
            code = code[:-1]  # a misread: too short for any wallet, refused at the till
        return Step(
            Kind.SALE,
            method=Method.QR_CUSTOMER,
            amount=amount,
            wallet=wallet,
            payer=payer,
            code=code,
        )

    def _card_step(self, kind: Kind) -> Step:
        method = self.rng.choices(_METHODS, _METHOD_WEIGHTS)[0]
        card = self.cards[self.rng.randrange(len(self.cards))]
        with_pin = card.brand is Brand.UNIONPAY and method in (
            Method.CARD_CHIP,
            Method.CARD_MAGSTRIPE,
        )
        minor = self.rng.randint(100, 50_000)
        if self.rng.random() < 0.01:
            minor = self.rng.choice(sorted(MAGIC_AMOUNTS))
        return Step(kind, card, method, with_pin, Money(minor, self.currency))

    def told(self, step: Step, voucher: str, approved: bool) -> None:
        """Remember an approved sale or pre-authorisation for a later follow-up."""
        if step.prepaid is not None:
            PrepaidCustomers.told(step.prepaid, approved)
        if not approved or step.amount is None:
            return
        if step.kind is Kind.SALE:
            self.sales.append((voucher, step.amount.minor))
            del self.sales[:-20]
        elif step.kind is Kind.PREAUTH:
            self.preauths.append((voucher, step.amount.minor))
            del self.preauths[:-10]
