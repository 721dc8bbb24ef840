"""What happens on the demo's trading day, as data built from a seed.

Mostly approved sales on the good test cards with every card entry mode, the
documented declines (low balance, expired, restricted, unknown card, each magic
amount) and a few balance inquiries, in a shuffled but reproducible order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pospay.issuer.test_cards import MAGIC_AMOUNTS, TEST_CARDS, UNKNOWN_CARD_PAN
from pospay.money import Money
from pospay.transaction import Kind, Method

CARD_METHODS = (Method.CARD_CHIP, Method.CARD_CONTACTLESS, Method.CARD_MAGSTRIPE)


@dataclass(frozen=True, slots=True)
class PlannedAttempt:
    kind: Kind
    pan: str = field(repr=False)
    expiry: str
    method: Method
    amount: Money
    expect: str  # the response code the test cards promise


def plan_trading_day(seed: int = 1, sales: int = 38, currency: str = "CNY") -> list[PlannedAttempt]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    good = [card for card in TEST_CARDS if card.status == "active" and card.expiry >= "2612"]
    good = [card for card in good if card.opening_balance.minor >= 100_000]
    low = next(card for card in TEST_CARDS if card.opening_balance.minor < 100_000)
    expired = next(card for card in TEST_CARDS if card.expiry < "2612")
    restricted = next(card for card in TEST_CARDS if card.status == "restricted")

    plan: list[PlannedAttempt] = []
    for index in range(sales):
        card = good[index % len(good)]
        amount = Money(rng.randrange(100, 88_800), currency)
        if amount.minor in MAGIC_AMOUNTS:
            amount = Money(amount.minor + 1, currency)
        plan.append(
            PlannedAttempt(Kind.SALE, card.pan, card.expiry, CARD_METHODS[index % 3], amount, "00")
        )
    plan += [
        PlannedAttempt(
            Kind.SALE, low.pan, low.expiry, Method.CARD_CHIP, Money(5_000, currency), "51"
        ),
        PlannedAttempt(
            Kind.SALE,
            expired.pan,
            expired.expiry,
            Method.CARD_MAGSTRIPE,
            Money(2_000, currency),
            "54",
        ),
        PlannedAttempt(
            Kind.SALE,
            restricted.pan,
            restricted.expiry,
            Method.CARD_CHIP,
            Money(3_000, currency),
            "62",
        ),
        PlannedAttempt(
            Kind.SALE,
            UNKNOWN_CARD_PAN,
            "3012",
            Method.CARD_CONTACTLESS,
            Money(1_500, currency),
            "14",
        ),
    ]
    for index, (minor, code) in enumerate(sorted(MAGIC_AMOUNTS.items())[:5]):
        card = good[index % len(good)]
        plan.append(
            PlannedAttempt(
                Kind.SALE,
                card.pan,
                card.expiry,
                CARD_METHODS[index % 3],
                Money(minor, currency),
                code,
            )
        )
    for index, card in enumerate(good[:3]):
        zero = Money(0, currency)
        plan.append(
            PlannedAttempt(
                Kind.BALANCE_INQUIRY, card.pan, card.expiry, CARD_METHODS[index % 3], zero, "00"
            )
        )
    rng.shuffle(plan)
    return plan
