"""The terminal's prepaid card operations: issue, activate, top up, freeze, unfreeze.

A prepaid card of the terminal's card range table (`TerminalConfig.prepaid_bins`) pays
by `Terminal.sale`, is refunded by `Terminal.refund` and asked for its balance by
`Terminal.balance_inquiry`, like any card; its receipts show its balance after the
attempt. The programme's own operations are card attempts like a sale, over the same
link (processing codes in `docs/iso8583.md` section 4.14): recorded before they are
sent, resolved by status query or reversal when no answer comes, idempotent at the host.
Only the top-ups move money, so only they print receipts.

A top-up by card is two attempts: a sale on the customer's bank card, then the top-up
naming that sale by RRN (field 37). If the top-up does not end approved (declined, or
reversed for want of an answer), the sale is voided at once, so the customer is not
charged for a top-up that did not happen; `CardTopUp` tells the cashier all three.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pospay.errors import PospayError
from pospay.iso8583 import Message
from pospay.money import Money
from pospay.terminal.card_read import CardRead
from pospay.terminal.operators import Credentials
from pospay.terminal.outcome import Outcome
from pospay.transaction import Kind

# How the engine runs one card attempt: kind, card, amount, operator, extra fields.
CardAttempt = Callable[[Kind, CardRead, Money, str | None, Message], Awaitable[Outcome]]
Sale = Callable[[CardRead, Money, str | None], Awaitable[Outcome]]
Void = Callable[[str, str | None, Credentials | None], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class CardTopUp:
    """A top-up paid by card: the card sale, the top-up, and the void of the sale when the
    top-up did not stand (or why the void could not be done: then refund the sale)."""

    sale: Outcome
    top_up: Outcome | None
    void: Outcome | None = None
    void_failed: str | None = None

    @property
    def approved(self) -> bool:
        return self.top_up is not None and self.top_up.approved


class PrepaidCounter:
    """What the cashier can do with a prepaid card besides paying with it."""

    def __init__(self, attempt: CardAttempt, sale: Sale, void: Void, currency: str) -> None:
        self._attempt = attempt
        self._sale = sale
        self._void = void
        self._zero = Money(0, currency)

    async def issue(self, card: CardRead, *, operator: str | None = None) -> Outcome:
        """Issue the blank card `card` of the shop's stock; a PIN entered with the read
        (`card.pin`) becomes the card's PIN. The card starts 'issued': activate it."""
        return await self._attempt(Kind.PREPAID_ISSUE, card, self._zero, operator, {})

    async def activate(self, card: CardRead, *, operator: str | None = None) -> Outcome:
        return await self._attempt(Kind.PREPAID_ACTIVATE, card, self._zero, operator, {})

    async def freeze(self, card: CardRead, *, operator: str | None = None) -> Outcome:
        """Freeze the card: no payment, top-up or refund until it is unfrozen."""
        return await self._attempt(Kind.PREPAID_FREEZE, card, self._zero, operator, {})

    async def unfreeze(self, card: CardRead, *, operator: str | None = None) -> Outcome:
        return await self._attempt(Kind.PREPAID_UNFREEZE, card, self._zero, operator, {})

    async def top_up(
        self, card: CardRead, amount: Money, *, operator: str | None = None
    ) -> Outcome:
        """Load `amount` the customer paid in cash onto the card."""
        return await self._attempt(Kind.PREPAID_TOP_UP, card, amount, operator, {})

    async def top_up_by_card(
        self,
        card: CardRead,
        funding: CardRead,
        amount: Money,
        *,
        operator: str | None = None,
        supervisor: Credentials | None = None,
    ) -> CardTopUp:
        """Charge `amount` to the bank card `funding`, then load it onto the prepaid card;
        void the charge if the load does not stand (`supervisor`: for the void, when the
        terminal's policy wants one)."""
        sale = await self._sale(funding, amount, operator)
        if not sale.approved or sale.rrn is None:
            return CardTopUp(sale, None)
        top_up = await self._attempt(
            Kind.PREPAID_CARD_TOP_UP, card, amount, operator, {"37": sale.rrn}
        )
        if top_up.approved:
            return CardTopUp(sale, top_up)
        try:
            void = await self._void(sale.voucher, operator, supervisor)
        except PospayError as error:
            return CardTopUp(sale, top_up, None, f"{type(error).__name__}: {error}")
        failed = None if void.approved else f"void answered {void.response_code}"
        return CardTopUp(sale, top_up, void, failed)
