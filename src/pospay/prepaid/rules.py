"""What the programme refuses before any money moves: the rules as data, no I/O.

`card_refusal` applies `CARD_RULES` in order and returns the first refusal for an
operation on an issued card, or None when it may go on; `limit_refusal` is the
maximum balance, checked after the PIN. The money rules that only the database can
decide at the moment the money moves — a balance too low (51), the daily spending
limit (61) — belong to the ledger and the daily spend counter.

Response codes, in the order `docs/iso8583.md` section 4.14 lists them: 14 a card the
programme never issued (or whose issue was reversed), 54 an expired card or a wrong
expiry date, 12 an operation the card's status does not allow (activating an active
card, freezing a frozen one) or a top-up paid by a sale that cannot pay for it, 57 a
card not activated yet, 62 a frozen card, 13 an amount in another currency; then the
PIN (55, 75); then 61 a credit above the card's maximum balance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pospay.issuer.decision import Refusal
from pospay.money import Money
from pospay.prepaid.cards import PrepaidCard
from pospay.prepaid.programme import Programme
from pospay.transaction import Kind

# Operations on an issued card, and the card statuses each needs.
NEEDS_STATUS: dict[Kind, frozenset[str]] = {
    Kind.PREPAID_ACTIVATE: frozenset({"issued"}),
    Kind.PREPAID_FREEZE: frozenset({"active"}),
    Kind.PREPAID_UNFREEZE: frozenset({"frozen"}),
    Kind.PREPAID_TOP_UP: frozenset({"active"}),
    Kind.PREPAID_CARD_TOP_UP: frozenset({"active"}),
    Kind.SALE: frozenset({"active"}),
    Kind.REFUND: frozenset({"active"}),
    Kind.BALANCE_INQUIRY: frozenset({"issued", "active", "frozen", "expired"}),
}
# The operations that credit the card, and so must stay within its maximum balance.
CREDITS = frozenset({Kind.PREPAID_TOP_UP, Kind.PREPAID_CARD_TOP_UP, Kind.REFUND})
# The operations that move money to or from the card.
MONEY = CREDITS | {Kind.SALE}


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation on a card, as the rules see it."""

    kind: Kind
    amount: Money
    expiry: str  # as the request sent it; empty for a refund (it names its payment)
    at: datetime
    # A top-up by card: why its card sale cannot pay for it, found in the programme's
    # books before the rules run (`operations`), or None.
    funding: Refusal | None = None


Rule = Callable[[Operation, PrepaidCard], Refusal | None]


def _never_issued(operation: Operation, card: PrepaidCard) -> Refusal | None:
    if card.status == "closed":
        return Refusal("14", "the card's issue was reversed: it was never issued")
    return None


def _supported(operation: Operation, card: PrepaidCard) -> Refusal | None:
    if operation.kind not in NEEDS_STATUS:
        return Refusal("12", f"the prepaid programme does not do {operation.kind.value}")
    return None


def _expired(operation: Operation, card: PrepaidCard) -> Refusal | None:
    if operation.kind is Kind.BALANCE_INQUIRY:
        return None  # the holder may always ask what is left
    if card.status == "expired" or card.expiry < operation.at.strftime("%y%m"):
        return Refusal("54", f"the card expired at the end of {card.expiry} (YYMM)")
    return None


def _wrong_expiry(operation: Operation, card: PrepaidCard) -> Refusal | None:
    if operation.expiry and operation.expiry != card.expiry:
        return Refusal("54", "the expiry date sent does not match the card's")
    return None


def _funding(operation: Operation, card: PrepaidCard) -> Refusal | None:
    return operation.funding


def _status(operation: Operation, card: PrepaidCard) -> Refusal | None:
    if card.status in NEEDS_STATUS[operation.kind]:
        return None
    if card.status == "issued" and operation.kind in MONEY:
        return Refusal("57", "the card is not activated yet")
    if card.status == "frozen" and operation.kind in MONEY:
        return Refusal("62", "the card is frozen")
    return Refusal("12", f"a {operation.kind.value} needs another status than {card.status}")


def _currency(operation: Operation, card: PrepaidCard) -> Refusal | None:
    if operation.amount.currency != card.balance.currency:
        currency = card.balance.currency
        return Refusal("13", f"the card holds {currency}, not {operation.amount.currency}")
    return None


def limit_refusal(operation: Operation, card: PrepaidCard) -> Refusal | None:
    """61 when a credit would take `card` above its maximum balance; else None."""
    if operation.kind not in CREDITS:
        return None
    after = card.balance.minor + operation.amount.minor
    if after > card.max_balance.minor:
        return Refusal(
            "61",
            f"{operation.amount} would take the card above its maximum balance of "
            f"{card.max_balance} ({card.balance} held)",
        )
    return None


CARD_RULES: tuple[Rule, ...] = (
    _never_issued,
    _supported,
    _expired,
    _wrong_expiry,
    _funding,
    _status,
    _currency,
)


def card_refusal(operation: Operation, card: PrepaidCard | None) -> Refusal | None:
    """The first refusal `CARD_RULES` give for `operation` on `card`; None if it may go on."""
    if card is None:
        return Refusal("14", "the card is not one the prepaid programme issued")
    for rule in CARD_RULES:
        refusal = rule(operation, card)
        if refusal is not None:
            return refusal
    return None


def issue_refusal(programme: Programme, pan: str, expiry: str, at: datetime) -> Refusal | None:
    """Why a blank card with this number and expiry cannot be issued now, or None."""
    if not programme.owns(pan) or len(pan) != programme.pan_length:
        return Refusal("14", "the card number is not from the programme's BIN range")
    if len(expiry) != 4 or not expiry.isdigit() or not 1 <= int(expiry[2:]) <= 12:
        return Refusal("54", f"the expiry {expiry!r} is not a YYMM month")
    this_month = at.strftime("%y%m")
    if expiry < this_month:
        return Refusal("54", f"the card expired at the end of {expiry} (YYMM)")
    months = (int(expiry[:2]) - at.year % 100) * 12 + int(expiry[2:]) - at.month
    if months > programme.validity_months:
        return Refusal(
            "54",
            f"the expiry {expiry} is {months} months away, beyond the programme's "
            f"{programme.validity_months}",
        )
    return None
