"""The programme's record of every answer it gave, keyed by the host's reference.

The reference is the idempotency key: once a row exists for it, every later request
with that reference gets the row's answer and moves nothing. The row is written in
the same transaction as the entry that moved the money (or the status it changed), so
the answer and its effect are durable together or not at all. A reversal that comes
before its request leaves a tombstone row, so the request, arriving late, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from pospay.channels import CardResult
from pospay.iso8583.response_codes import APPROVED
from pospay.money import Money
from pospay.prepaid.tables import prepaid_operation
from pospay.transaction import Kind

# The code a late request gets when its reversal came first (original not found).
TOMBSTONE_CODE = "25"


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """One row of ``prepaid_operation``."""

    reference: str
    kind: str
    account_id: str | None
    merchant_id: str | None
    amount: Money
    response_code: str
    auth_code: str | None
    balance: Money | None
    reason: str
    state: str  # approved | declined | reversed
    original_reference: str | None
    undone: int
    status_before: str | None
    spend_day: str | None

    @property
    def tombstone(self) -> bool:
        """A reversal came before any request with this reference."""
        return self.kind == Kind.REVERSAL.value

    def result(self) -> CardResult:
        """The answer as it was first given."""
        return CardResult(
            self.reference, self.response_code, self.auth_code, self.balance, self.reason
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """What `record_answer` stores besides the `CardResult` itself."""

    kind: Kind
    account_id: str | None
    pan_masked: str | None
    merchant_id: str
    amount: Money
    original_reference: str | None = None
    funding_reference: str | None = None
    status_before: str | None = None
    spend_day: str | None = None


# Every request, reversal and status query reads its stored answer first; the router asks
# for each follow-up, reversal and query of any card. Built once (`storage.prepared`).
_ANSWER = select(prepaid_operation).where(prepaid_operation.c.reference == bindparam("b_ref"))
_INSERT_ANSWER = insert(prepaid_operation)


def find_answer(conn: Connection, reference: str) -> StoredAnswer | None:
    """The stored answer for `reference`, if the programme has seen it."""
    row = conn.execute(_ANSWER, {"b_ref": reference}).one_or_none()
    return None if row is None else _stored(row)


def record_answer(conn: Connection, answer: Answer, result: CardResult, at: datetime) -> None:
    """Store `result`; a second answer for the same reference is refused by the primary key."""
    conn.execute(
        _INSERT_ANSWER,
        {
            "reference": result.reference,
            "kind": answer.kind.value,
            "account_id": answer.account_id,
            "pan_masked": answer.pan_masked,
            "merchant_id": answer.merchant_id,
            "amount_minor": answer.amount.minor,
            "currency": answer.amount.currency,
            "response_code": result.response_code,
            "auth_code": result.auth_code,
            "balance_minor": None if result.balance is None else result.balance.minor,
            "reason": result.reason,
            "state": "approved" if result.response_code == APPROVED else "declined",
            "original_reference": answer.original_reference,
            "funding_reference": answer.funding_reference,
            "status_before": answer.status_before,
            "spend_day": answer.spend_day,
            "undone_minor": 0,
            "created_at": at,
        },
    )


def record_tombstone(conn: Connection, reference: str, currency: str, at: datetime) -> None:
    """Remember a reversal that came before its request, so that a late one is refused."""
    conn.execute(
        insert(prepaid_operation).values(
            reference=reference,
            kind=Kind.REVERSAL.value,
            amount_minor=0,
            currency=currency,
            response_code=TOMBSTONE_CODE,
            reason="a reversal arrived before any request with this reference",
            state="reversed",
            created_at=at,
        )
    )


def take_undone(conn: Connection, reference: str, amount_minor: int) -> bool:
    """Count `amount_minor` more of the payment `reference` as refunded; False, changing
    nothing, unless it is approved and that much is left. A conditional update, so the
    database decides a race between two refunds."""
    t = prepaid_operation.c
    change = (
        update(prepaid_operation)
        .where(
            t.reference == reference,
            t.state == "approved",
            t.undone_minor + amount_minor <= t.amount_minor,
        )
        .values(undone_minor=t.undone_minor + amount_minor)
    )
    return conn.execute(change).rowcount == 1


def give_back_undone(conn: Connection, reference: str, amount_minor: int) -> None:
    """A refund of `reference` was reversed: that much of the payment is refundable again."""
    t = prepaid_operation.c
    conn.execute(
        update(prepaid_operation)
        .where(t.reference == reference)
        .values(undone_minor=t.undone_minor - amount_minor)
    )


def mark_reversed(conn: Connection, reference: str) -> None:
    t = prepaid_operation.c
    conn.execute(
        update(prepaid_operation)
        .where(t.reference == reference, t.state == "approved")
        .values(state="reversed")
    )


def _stored(row: Row[Any]) -> StoredAnswer:
    balance = None if row.balance_minor is None else Money(int(row.balance_minor), row.currency)
    return StoredAnswer(
        reference=row.reference,
        kind=row.kind,
        account_id=row.account_id,
        merchant_id=row.merchant_id,
        amount=Money(int(row.amount_minor), row.currency),
        response_code=row.response_code,
        auth_code=row.auth_code,
        balance=balance,
        reason=row.reason,
        state=row.state,
        original_reference=row.original_reference,
        undone=int(row.undone_minor),
        status_before=row.status_before,
        spend_day=row.spend_day,
    )
