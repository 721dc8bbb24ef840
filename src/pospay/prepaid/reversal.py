"""Reversing an operation of the programme, inside one unit of work.

Idempotent: a reference reversed once answers "00" again and moves nothing more. A
reference never seen leaves a tombstone, so that the request, arriving late, is refused
(25) and moves nothing. A reversal undoes exactly what its operation did:

- an entry: its opposite (`books.reverse_movement`; money spent since comes from the
  recovery account, so a reversal always completes and no balance goes negative);
- a payment's place in the day's spending (`cards.unspend`), a refund's share of its
  payment (`answers.give_back_undone`);
- a status change (issue, activate, freeze, unfreeze): the card goes back to the
  status it had, if it is still in the one the operation gave it; an operation since
  (an unfreeze after the freeze) stands. A reversed issue leaves the card 'closed'.

The card is locked first, then the stored answer is read again under that lock: the
same order as every other unit on the card.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from pospay.channels import CardResult
from pospay.iso8583.response_codes import APPROVED
from pospay.money import Money
from pospay.prepaid import answers, books, cards
from pospay.prepaid.cards import STATUS_CHANGES
from pospay.prepaid.operations import STATUS_OPERATIONS
from pospay.transaction import Kind

# The status a reversed issue leaves its card in: the number can never be issued again.
_CLOSED = "closed"


def reverse_reference(
    conn: Connection, reference: str, currency: str, now: datetime
) -> tuple[CardResult, bool]:
    """Reverse `reference`: the answer, and whether the programme had seen the request."""
    stored = answers.find_answer(conn, reference)
    if stored is None:
        answers.record_tombstone(conn, reference, currency, now)
        reason = "nothing to reverse: no request with this reference was received"
        return CardResult(reference, APPROVED, None, None, reason), False
    if stored.tombstone:
        return CardResult(reference, APPROVED, None, None, "reversed before it arrived"), False
    if stored.state == "declined":
        reason = f"nothing to reverse: the request was answered {stored.response_code}"
        return CardResult(reference, APPROVED, None, None, reason), True
    card = cards.lock_card(conn, stored.account_id or "")
    stored = answers.find_answer(conn, reference) or stored
    if stored.state == "reversed" or card is None:
        available = None if card is None else card.balance
        return CardResult(reference, APPROVED, stored.auth_code, available, "reversed"), True
    short = books.reverse_movement(conn, reference, now)
    kind = Kind(stored.kind)
    if kind is Kind.SALE and stored.spend_day is not None:
        cards.unspend(conn, card.account_id, stored.spend_day, stored.amount)
    if kind is Kind.REFUND and stored.original_reference is not None:
        answers.give_back_undone(conn, stored.original_reference, stored.amount.minor)
    if stored.status_before is not None:
        _restore_status(conn, card, kind, stored.status_before)
    answers.mark_reversed(conn, reference)
    available = books.balance(conn, card.account_id)
    reason = "reversed"
    if short:
        reason += f"; {Money(short, available.currency)} spent since taken into recovery"
    return CardResult(reference, APPROVED, stored.auth_code, available, reason), True


def _restore_status(conn: Connection, card: cards.PrepaidCard, kind: Kind, before: str) -> None:
    """Give the card back the status `before` if it still has the one `kind` gave it."""
    if kind is Kind.PREPAID_ISSUE:
        if card.status == STATUS_CHANGES[("issue", "new")]:
            cards.set_status(conn, card.account_id, _CLOSED)
        return
    given = STATUS_CHANGES[(STATUS_OPERATIONS[kind], before)]
    if card.status == given:
        cards.set_status(conn, card.account_id, before)
