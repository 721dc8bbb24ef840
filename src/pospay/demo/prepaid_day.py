"""The prepaid part of the demo's day: two customers and their stored-value cards.

The shop issues two blank cards of its stock (one with a PIN), activates them, tops one
up in cash and the other by a bank card's sale, takes payments from both, answers a
balance inquiry, refuses what the programme refuses (a payment above the balance, one
on a frozen card, one without the card's PIN), freezes and unfreezes a card, and
refunds part of a payment. Each step says the response code it must get; the demo
counts any other as unexpected. The cards are numbered from the demo's seed, so a test
can look for their numbers in everything the demo wrote.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.prepaid import TEST_PROGRAMME, BlankCard, blank_cards, expiry_after
from pospay.terminal.card_read import CardRead
from pospay.terminal.engine import Terminal
from pospay.terminal.operators import Credentials
from pospay.terminal.outcome import Outcome
from pospay.transaction import Kind, Method

CUSTOMER_PIN = "2580"


@dataclass(frozen=True, slots=True)
class PrepaidStep:
    """One prepaid step: what, on which of the two cards, and the code it must get."""

    kind: Kind
    card: int  # 0 or 1: which customer's card
    amount: Money | None
    expect: str
    pin: str | None = field(default=None, repr=False)
    refunds: int | None = None  # a refund: the position of the payment it gives back


def demo_prepaid_cards(seed: int, now: datetime, day: int = 1) -> list[BlankCard]:
    """The demo's two blank cards of its trading `day` (1 on new databases, one more each
    day after on the same ones, each day's cards new): numbered from `seed` and `day`,
    valid for two years from `now`."""
    stock = f"pospay-demo-prepaid:{seed}" + ("" if day == 1 else f":{day}")
    rng = random.Random(stock)  # noqa: S311 - stock numbers, not secrets
    return blank_cards(TEST_PROGRAMME, rng, 2, expiry=expiry_after(now, 24))


def plan_prepaid_day(currency: str = "CNY") -> list[PrepaidStep]:
    def cny(minor: int) -> Money:
        return Money(minor, currency)

    return [
        PrepaidStep(Kind.PREPAID_ISSUE, 0, None, "00"),
        PrepaidStep(Kind.PREPAID_ACTIVATE, 0, None, "00"),
        PrepaidStep(Kind.PREPAID_TOP_UP, 0, cny(500_00), "00"),
        PrepaidStep(Kind.SALE, 0, cny(128_80), "00"),
        PrepaidStep(Kind.PREPAID_ISSUE, 1, None, "00", pin=CUSTOMER_PIN),
        PrepaidStep(Kind.PREPAID_ACTIVATE, 1, None, "00"),
        PrepaidStep(Kind.PREPAID_CARD_TOP_UP, 1, cny(200_00), "00"),
        PrepaidStep(Kind.SALE, 1, cny(66_60), "00", pin=CUSTOMER_PIN),
        PrepaidStep(Kind.SALE, 1, cny(10_00), "55"),  # the card has a PIN: none entered
        PrepaidStep(Kind.BALANCE_INQUIRY, 0, None, "00"),
        PrepaidStep(Kind.SALE, 0, cny(1_000_00), "51"),  # more than the card holds
        PrepaidStep(Kind.PREPAID_FREEZE, 0, None, "00"),
        PrepaidStep(Kind.SALE, 0, cny(10_00), "62"),  # frozen
        PrepaidStep(Kind.PREPAID_UNFREEZE, 0, None, "00"),
        PrepaidStep(Kind.REFUND, 0, cny(28_80), "00", refunds=3),
    ]


async def perform_prepaid_step(
    terminal: Terminal,
    step: PrepaidStep,
    cards: list[BlankCard],
    vouchers: list[str],
    supervisor: Credentials,
) -> list[Outcome]:
    """Do `step` at the till: its outcomes (a top-up by card has its sale's first)."""
    read = CardRead.for_test_card(cards[step.card], Method.CARD_MAGSTRIPE, pin=step.pin)
    counter, amount = terminal.prepaid, step.amount
    if step.kind is Kind.PREPAID_ISSUE:
        return [await counter.issue(read)]
    if step.kind is Kind.PREPAID_ACTIVATE:
        return [await counter.activate(read)]
    if step.kind is Kind.PREPAID_FREEZE:
        return [await counter.freeze(read)]
    if step.kind is Kind.PREPAID_UNFREEZE:
        return [await counter.unfreeze(read)]
    if step.kind is Kind.BALANCE_INQUIRY:
        return [await terminal.balance_inquiry(read)]
    assert amount is not None
    if step.kind is Kind.PREPAID_TOP_UP:
        return [await counter.top_up(read, amount)]
    if step.kind is Kind.REFUND:
        assert step.refunds is not None
        return [await terminal.refund(vouchers[step.refunds], amount, supervisor=supervisor)]
    if step.kind is Kind.SALE:
        return [await terminal.sale(read, amount)]
    bank = CardRead.for_test_card(TEST_CARDS[0], Method.CARD_CHIP)
    done = await counter.top_up_by_card(read, bank, amount, supervisor=supervisor)
    return [done.sale] + ([] if done.top_up is None else [done.top_up])
