"""Follow-ups at the host: what a void, refund, completion or cancel may do to its original.

A follow-up names its original by the RRN in field 37 and carries no card data: the
host finds the original in its journal and takes the card (masked form and keyed
reference) and the entry mode from it. In the unit that records the follow-up, the
host refuses what the rules below refuse; the journal row says why and nothing is
forwarded. The issuer checks again against its own record of the original, so the
database there settles a race between two follow-ups of the same original.

The checks run in the order of `docs/iso8583.md` sections 4.5 to 4.9, every 12 before
any 13:

- 25: no attempt with that RRN for this merchant, or not the kind the follow-up names;
- 12: a void from another terminal or another batch; the original no longer approved
  (voided, refunded, reversed, or settled for a void); a pre-authorisation already
  completed or cancelled; a void of a partly refunded sale; a void or refund of a sale
  that paid for a prepaid top-up that stands (`host.funding`);
- 13: a void or cancel for other than the original's amount; a refund above what is
  left of the sale after earlier refunds.

An approved follow-up moves its original through the life cycle in the unit that
records the approval (`transaction.follow_ups.event_on_original`), and back in the unit
that confirms the follow-up's reversal (`event_on_reversal`).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from pospay.host.journal import RequestRecord, follow_ups, record_event, request_row
from pospay.money import Money
from pospay.transaction import Kind, Method, State
from pospay.transaction.follow_ups import ORIGINAL_KIND, event_on_original, event_on_reversal

ORIGINAL_NOT_FOUND = "25"
NOT_ALLOWED = "12"
WRONG_AMOUNT = "13"

# Follow-ups that count against their original: done, or possibly done.
_COUNTED = frozenset(
    {State.SENT, State.UNKNOWN, State.APPROVED, State.SETTLED, State.REVERSAL_PENDING}
)
_DONE = frozenset({State.APPROVED, State.SETTLED})


def adopt(record: RequestRecord, original: Row[Any] | None) -> RequestRecord:
    """`record` with the card and entry mode of its original, and the link to it."""
    if original is None:
        return record
    return dataclasses.replace(
        record,
        method=Method(original.method),
        pan_masked=original.pan_masked,
        pan_ref=original.pan_ref,
        original_id=original.id,
    )


def standing(connection: Connection, original_id: int) -> list[Row[Any]]:
    """The attempts naming `original_id` that count against it: done, or possibly done."""
    return [row for row in follow_ups(connection, original_id) if State(row.state) in _COUNTED]


def refusal(
    connection: Connection, record: RequestRecord, original: Row[Any] | None
) -> tuple[str, str] | None:
    """The response code and reason the host refuses the follow-up `record` with, or None."""
    kind, wanted = record.kind, ORIGINAL_KIND[record.kind]
    if original is None or original.merchant_id != record.merchant_id:
        return ORIGINAL_NOT_FOUND, f"no {wanted.value} with this RRN for this merchant"
    if Kind(original.kind) is not wanted:
        return ORIGINAL_NOT_FOUND, f"the RRN names a {original.kind}, not a {wanted.value}"
    amount = Money(record.amount_minor, record.currency)
    original_amount = Money(original.amount_minor, original.currency)
    state = State(original.state)
    others = standing(connection, original.id)
    if kind is Kind.VOID:
        if original.terminal_id != record.terminal_id:
            return NOT_ALLOWED, "a void must come from the terminal of the sale"
        if original.batch != record.batch:
            return NOT_ALLOWED, f"the sale is in batch {original.batch}, not the current batch"
    if kind is Kind.REFUND:
        if state not in (State.APPROVED, State.SETTLED):
            return NOT_ALLOWED, f"the sale is {state.value}"
        if any(Kind(row.kind) is Kind.PREPAID_CARD_TOP_UP for row in others):
            return NOT_ALLOWED, "the sale paid for a prepaid top-up that stands"
    elif state is not State.APPROVED:
        return NOT_ALLOWED, f"the {wanted.value} is {state.value}"
    elif others:
        taken = others[0]
        return NOT_ALLOWED, f"the original already has a {taken.kind} ({taken.state})"
    # Only now the amount: every 12 above wins over a 13 below.
    if kind in (Kind.VOID, Kind.PREAUTH_CANCEL) and amount != original_amount:
        return WRONG_AMOUNT, f"{amount} differs from the original's {original_amount}"
    if amount.minor <= 0:
        return WRONG_AMOUNT, f"a {kind.value} needs a positive amount"
    if kind is Kind.REFUND:
        refunded = sum(row.amount_minor for row in others if Kind(row.kind) is Kind.REFUND)
        left = Money(original.amount_minor - refunded, original.currency)
        if amount.minor > left.minor:
            return WRONG_AMOUNT, f"refund of {amount} above the {left} left to refund"
    return None


def apply_to_original(connection: Connection, follow_up: Row[Any], now: datetime) -> None:
    """The approved `follow_up` moves its original (voided, refunded in full)."""
    original = request_row(connection, follow_up.original_id)
    refunded = sum(
        row.amount_minor
        for row in follow_ups(connection, original.id)
        if Kind(row.kind) is Kind.REFUND and State(row.state) in _DONE
    )
    event = event_on_original(
        Kind(follow_up.kind), original_minor=original.amount_minor, refunded_minor=refunded
    )
    if event is not None:
        record_event(connection, original.id, event, now)


def undo_on_original(connection: Connection, follow_up: Row[Any], now: datetime) -> None:
    """The approved `follow_up` was reversed: its original is as before it (approved)."""
    original = request_row(connection, follow_up.original_id)
    event = event_on_reversal(Kind(follow_up.kind), State(original.state))
    if event is not None:
        record_event(connection, original.id, event, now)
