"""What happens on the demo's trading day, as data built from a seed.

Sales on the good test cards in every card entry mode (some with online PIN), the
documented declines (low balance, expired, restricted, unknown card, each magic
amount, a wrong PIN), balance inquiries, pre-authorisations with their completions
and cancels, transfers, and at the end the follow-ups on earlier attempts: voids and
refunds (one of them above what is left), in a shuffled but reproducible order.
Settlement closes the day (see `pospay.demo.run`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pospay.issuer.test_cards import MAGIC_AMOUNTS, TEST_CARDS, UNKNOWN_CARD_PAN, TestCard
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.transaction import Kind, Method

CARD_METHODS = (Method.CARD_CHIP, Method.CARD_CONTACTLESS, Method.CARD_MAGSTRIPE)
FOLLOW_UP_KINDS = frozenset({Kind.VOID, Kind.REFUND, Kind.PREAUTH_COMPLETION, Kind.PREAUTH_CANCEL})


@dataclass(frozen=True, slots=True, eq=False)
class PlannedAttempt:
    """One step of the day. A follow-up names its original by position in the plan."""

    kind: Kind
    card: TestCard | None  # None for follow-ups and the unknown card
    method: Method
    amount: Money
    expect: str  # the response code the test cards promise
    pin: str | None = field(default=None, repr=False)
    follows: int | None = None
    target_pan: str | None = field(default=None, repr=False)
    pan: str | None = field(default=None, repr=False)  # a card not on file
    # A QR sale: the wallet and the test payer (`wallets.payers`) who pays it.
    wallet: Wallet | None = None
    payer: str | None = None

    @property
    def is_follow_up(self) -> bool:
        return self.kind in FOLLOW_UP_KINDS

    @property
    def is_qr(self) -> bool:
        return self.wallet is not None


def plan_trading_day(seed: int = 1, sales: int = 30, currency: str = "CNY") -> list[PlannedAttempt]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    good = [card for card in TEST_CARDS if card.status == "active" and card.expiry >= "2612"]
    good = [card for card in good if card.opening_balance.minor >= 100_000]
    low = next(card for card in TEST_CARDS if card.opening_balance.minor < 100_000)
    expired = next(card for card in TEST_CARDS if card.expiry < "2612")
    restricted = next(card for card in TEST_CARDS if card.status == "restricted")

    def money(minor: int) -> Money:
        return Money(minor, currency)

    def amount() -> Money:
        minor = rng.randrange(100, 88_800)
        return money(minor + 1 if minor in MAGIC_AMOUNTS else minor)

    def attempt(
        kind: Kind,
        card: TestCard,
        index: int,
        value: Money,
        expect: str = "00",
        *,
        pin: str | None = None,
        target_pan: str | None = None,
    ) -> PlannedAttempt:
        method = CARD_METHODS[index % 3]
        return PlannedAttempt(kind, card, method, value, expect, pin=pin, target_pan=target_pan)

    day: list[PlannedAttempt] = []
    for index in range(sales):
        card = good[index % len(good)]
        pin = card.pin if index % 4 == 0 else None
        day.append(attempt(Kind.SALE, card, index, amount(), pin=pin))
    wrong_pin = (
        "9" * len(good[0].pin) if good[0].pin != "9" * len(good[0].pin) else "1" * len(good[0].pin)
    )
    day += [
        attempt(Kind.SALE, good[0], 0, money(1_800), "55", pin=wrong_pin),
        attempt(Kind.SALE, low, 0, money(5_000), "51"),
        attempt(Kind.SALE, expired, 2, money(2_000), "54"),
        attempt(Kind.SALE, restricted, 0, money(3_000), "62"),
        PlannedAttempt(
            Kind.SALE, None, Method.CARD_CONTACTLESS, money(1_500), "14", pan=UNKNOWN_CARD_PAN
        ),
    ]
    for index, (minor, code) in enumerate(sorted(MAGIC_AMOUNTS.items())[:5]):
        day.append(attempt(Kind.SALE, good[index % len(good)], index, money(minor), code))
    for index, card in enumerate(good[:3]):
        day.append(attempt(Kind.BALANCE_INQUIRY, card, index, money(0)))
    preauths = [attempt(Kind.PREAUTH, good[index], index, money(20_000)) for index in range(3)]
    day += preauths
    day += [
        attempt(Kind.TRANSFER, good[1], 0, money(12_345), target_pan=good[2].pan),
        attempt(Kind.TRANSFER, good[2], 1, money(1_000), "14", target_pan=UNKNOWN_CARD_PAN),
    ]
    rng.shuffle(day)
    day += qr_payments(money)

    def position(original: PlannedAttempt) -> int:
        return next(index for index, planned in enumerate(day) if planned is original)

    approved_sales = [p for p in day if p.kind is Kind.SALE and p.expect == "00"]
    voided, refunded = approved_sales[:2], approved_sales[2]
    follow_ups = [
        PlannedAttempt(
            Kind.VOID, None, Method.CARD_CHIP, voided[0].amount, "00", follows=position(voided[0])
        ),
        PlannedAttempt(
            Kind.VOID, None, Method.CARD_CHIP, voided[1].amount, "00", follows=position(voided[1])
        ),
        PlannedAttempt(
            Kind.REFUND,
            None,
            Method.CARD_CHIP,
            money(refunded.amount.minor // 2),
            "00",
            follows=position(refunded),
        ),
        PlannedAttempt(
            Kind.REFUND, None, Method.CARD_CHIP, refunded.amount, "13", follows=position(refunded)
        ),
        PlannedAttempt(
            Kind.PREAUTH_COMPLETION,
            None,
            Method.CARD_CHIP,
            money(21_000),
            "00",
            follows=position(preauths[0]),
        ),
        PlannedAttempt(
            Kind.PREAUTH_CANCEL,
            None,
            Method.CARD_CHIP,
            money(20_000),
            "00",
            follows=position(preauths[1]),
        ),
        PlannedAttempt(
            Kind.PREAUTH_COMPLETION,
            None,
            Method.CARD_CHIP,
            money(26_000),
            "61",
            follows=position(preauths[2]),
        ),
        PlannedAttempt(
            Kind.PREAUTH_CANCEL,
            None,
            Method.CARD_CHIP,
            money(20_000),
            "00",
            follows=position(preauths[2]),
        ),
    ]
    qr_paid = next(p for p in day if p.is_qr and p.expect == "00")
    follow_ups.append(
        PlannedAttempt(
            Kind.REFUND,
            None,
            qr_paid.method,
            money(qr_paid.amount.minor // 2),
            "00",
            follows=position(qr_paid),
        )
    )
    return day + follow_ups


def qr_payments(money: Callable[[int], Money]) -> list[PlannedAttempt]:
    """QR sales, both flows and both wallets: a customer's code that pays at once, one
    whose payer enters the password first (polled), one whose payer's balance is short;
    the terminal's own QR confirmed by the wallet's notification, and one whose
    notification is lost (found by polling)."""

    def qr(method: Method, wallet: Wallet, payer: str, minor: int, expect: str) -> PlannedAttempt:
        return PlannedAttempt(
            Kind.SALE, None, method, money(minor), expect, wallet=wallet, payer=payer
        )

    return [
        qr(Method.QR_CUSTOMER, Wallet.ALIPAY, "0001", 3_680, "00"),
        qr(Method.QR_CUSTOMER, Wallet.WECHAT, "0002", 1_250, "00"),
        qr(Method.QR_CUSTOMER, Wallet.WECHAT, "0005", 5_000, "51"),
        qr(Method.QR_MERCHANT, Wallet.ALIPAY, "0001", 8_800, "00"),
        qr(Method.QR_MERCHANT, Wallet.WECHAT, "0007", 2_400, "00"),
    ]
