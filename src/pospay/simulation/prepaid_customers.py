"""The shop's prepaid customers in the simulation: cards from the stock, and what each
customer does next with the card in hand.

Each cashier keeps a few blank cards of the test programme's stock (numbered from the
terminal's own seeded generator, some with a PIN). A blank card is issued, then
activated; an active card is topped up in cash or by a bank card's sale, pays (with
its PIN if it has one), is asked for its balance, frozen now and then and unfrozen
later. Refunds of prepaid payments come from the cashier's memory of approved sales,
like those of card sales. The cashier follows what the terminal told it: a card whose
issue did not end approved goes back in the drawer for good (its number may be taken),
a refused activation or unfreeze is tried again later.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pospay.issuer.test_cards import TestCard
from pospay.money import Money
from pospay.prepaid import TEST_PROGRAMME, BlankCard, blank_cards, expiry_after
from pospay.simulation.loop import EPOCH
from pospay.terminal.card_read import CardRead
from pospay.terminal.engine import Terminal
from pospay.terminal.outcome import Outcome
from pospay.transaction import Kind, Method

# The operations of a customer with an active card, by weight.
_ACTIVE_STEPS = (
    Kind.SALE,
    Kind.PREPAID_TOP_UP,
    Kind.PREPAID_CARD_TOP_UP,
    Kind.BALANCE_INQUIRY,
    Kind.PREPAID_FREEZE,
)
_ACTIVE_WEIGHTS = (50, 22, 8, 12, 3)
_METHODS = (Method.CARD_MAGSTRIPE, Method.CARD_MANUAL)
_METHOD_WEIGHTS = (80, 20)
# The kinds a prepaid step can have.
PREPAID_KINDS = frozenset(
    {
        Kind.PREPAID_ISSUE,
        Kind.PREPAID_ACTIVATE,
        Kind.PREPAID_TOP_UP,
        Kind.PREPAID_CARD_TOP_UP,
        Kind.PREPAID_FREEZE,
        Kind.PREPAID_UNFREEZE,
    }
)


@dataclass
class Holder:
    """A customer with a card of the stock: what the cashier knows of it."""

    card: BlankCard
    pin: str | None
    status: str = "blank"  # blank | issued | active | frozen | gone


@dataclass(frozen=True, slots=True)
class PrepaidStep:
    """What to do with whose prepaid card, and for how much."""

    kind: Kind
    holder: Holder
    method: Method
    amount: Money | None = None
    funding: TestCard | None = None  # the bank card of a top-up by card

    @property
    def pin(self) -> str | None:
        """The PIN the customer enters: for a payment, and at the issue that sets it."""
        if self.kind in (Kind.SALE, Kind.PREPAID_ISSUE):
            return self.holder.pin
        return None


class PrepaidCustomers:
    """One till's prepaid customers, drawing from its own seeded generator."""

    def __init__(self, rng: random.Random, bank_cards: tuple[TestCard, ...], cards: int = 5):
        self._rng = rng
        self._bank_cards = bank_cards
        stock = blank_cards(TEST_PROGRAMME, rng, cards, expiry=expiry_after(EPOCH, 24))
        self._holders = [
            Holder(card, f"{rng.randrange(10_000):04d}" if index % 2 else None)
            for index, card in enumerate(stock)
        ]

    def next_step(self, currency: str) -> PrepaidStep | None:
        """The next prepaid customer's step; None when every card of the stock is gone."""
        rng = self._rng
        method = rng.choices(_METHODS, _METHOD_WEIGHTS)[0]
        known = [h for h in self._holders if h.status in ("issued", "active", "frozen")]
        blank = [h for h in self._holders if h.status == "blank"]
        if blank and (not known or rng.random() < 0.05):
            return PrepaidStep(Kind.PREPAID_ISSUE, blank[0], method)
        if not known:
            return None
        holder = known[rng.randrange(len(known))]
        if holder.status == "issued":
            return PrepaidStep(Kind.PREPAID_ACTIVATE, holder, method)
        if holder.status == "frozen":
            kind = Kind.PREPAID_UNFREEZE if rng.random() < 0.7 else Kind.BALANCE_INQUIRY
            return PrepaidStep(kind, holder, method)
        kind = rng.choices(_ACTIVE_STEPS, _ACTIVE_WEIGHTS)[0]
        if kind is Kind.SALE:
            return PrepaidStep(kind, holder, method, Money(rng.randint(100, 15_000), currency))
        if kind in (Kind.PREPAID_TOP_UP, Kind.PREPAID_CARD_TOP_UP):
            amount = Money(rng.randint(50, 500) * 100, currency)
            funding = self._bank_cards[rng.randrange(len(self._bank_cards))]
            return PrepaidStep(kind, holder, method, amount, funding)
        return PrepaidStep(kind, holder, method)

    @staticmethod
    def told(step: PrepaidStep, approved: bool | None) -> None:
        """What the terminal said (None: it could not say) moves the customer's card on."""
        holder = step.holder
        if step.kind is Kind.PREPAID_ISSUE:
            holder.status = "issued" if approved else "gone"
        elif approved and step.kind is Kind.PREPAID_ACTIVATE:
            holder.status = "active"
        elif approved and step.kind is Kind.PREPAID_FREEZE:
            holder.status = "frozen"
        elif approved and step.kind is Kind.PREPAID_UNFREEZE:
            holder.status = "active"


async def run_prepaid_step(terminal: Terminal, step: PrepaidStep) -> Outcome:
    """Do `step` at the till; a top-up by card answers with its top-up (or its sale, when
    the sale was not approved and so no top-up was tried)."""
    read = CardRead.for_test_card(step.holder.card, step.method, pin=step.pin)
    counter = terminal.prepaid
    if step.kind is Kind.PREPAID_ISSUE:
        return await counter.issue(read)
    if step.kind is Kind.PREPAID_ACTIVATE:
        return await counter.activate(read)
    if step.kind is Kind.PREPAID_FREEZE:
        return await counter.freeze(read)
    if step.kind is Kind.PREPAID_UNFREEZE:
        return await counter.unfreeze(read)
    if step.kind is Kind.BALANCE_INQUIRY:
        return await terminal.balance_inquiry(read)
    assert step.amount is not None
    if step.kind is Kind.SALE:
        return await terminal.sale(read, step.amount)
    if step.kind is Kind.PREPAID_TOP_UP:
        return await counter.top_up(read, step.amount)
    assert step.funding is not None
    funding = CardRead.for_test_card(step.funding, Method.CARD_CHIP)
    done = await counter.top_up_by_card(read, funding, step.amount)
    return done.top_up or done.sale
