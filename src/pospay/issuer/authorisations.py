"""The issuer's record of every answer it gave, keyed by the host's reference.

The reference is the idempotency key: once a row exists for it, every later request
with that reference gets the row's answer and moves nothing. The row is written in
the same transaction as the entry that moved the money, so the answer and the money
are durable together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from pospay.channels import CardResult
from pospay.iso8583.response_codes import APPROVED
from pospay.issuer.tables import issuer_authorisation
from pospay.money import Money
from pospay.transaction import Kind


@dataclass(frozen=True, slots=True)
class StoredAuthorisation:
    """One row of ``issuer_authorisation``."""

    reference: str
    kind: str
    pan_ref: str | None
    amount: Money
    response_code: str
    auth_code: str | None
    balance: Money | None
    reason: str
    entry_id: int | None
    state: str  # approved | declined | reversed
    # A follow-up's original, and how much of this approval follow-ups have undone.
    original_reference: str | None = None
    undone: int = 0

    def result(self) -> CardResult:
        """The answer as it was first given."""
        return CardResult(
            self.reference, self.response_code, self.auth_code, self.balance, self.reason
        )


# Every authorisation reads and writes these: built once.
_BY_REFERENCE = select(issuer_authorisation).where(
    issuer_authorisation.c.reference == bindparam("reference")
)
_INSERT = insert(issuer_authorisation)


def find_authorisation(conn: Connection, reference: str) -> StoredAuthorisation | None:
    """The stored answer for `reference`, if the issuer has seen it."""
    row = conn.execute(_BY_REFERENCE, {"reference": reference}).one_or_none()
    if row is None:
        return None
    balance = None if row.balance_minor is None else Money(int(row.balance_minor), row.currency)
    return StoredAuthorisation(
        reference=row.reference,
        kind=row.kind,
        pan_ref=row.pan_ref,
        amount=Money(int(row.amount_minor), row.currency),
        response_code=row.response_code,
        auth_code=row.auth_code,
        balance=balance,
        reason=row.reason,
        entry_id=row.entry_id,
        state=row.state,
        original_reference=row.original_reference,
        undone=int(row.undone_minor),
    )


def record_authorisation(
    conn: Connection,
    *,
    kind: Kind,
    pan_ref: str | None,
    pan_masked: str | None,
    amount: Money,
    answer: CardResult,
    entry_id: int | None,
    at: datetime,
    original_reference: str | None = None,
) -> None:
    """Store `answer`; a second answer for the same reference is refused by the primary key."""
    approved = answer.response_code == APPROVED
    conn.execute(
        _INSERT,
        {
            "reference": answer.reference,
            "kind": kind.value,
            "pan_ref": pan_ref,
            "pan_masked": pan_masked,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "response_code": answer.response_code,
            "auth_code": answer.auth_code,
            "balance_minor": None if answer.balance is None else answer.balance.minor,
            "reason": answer.reason,
            "entry_id": entry_id,
            "state": "approved" if approved else "declined",
            "created_at": at,
            "original_reference": original_reference,
        },
    )


def take_undone(conn: Connection, reference: str, amount_minor: int, *, whole: bool) -> bool:
    """Count `amount_minor` more of the approval `reference` as undone; False, changing
    nothing, if it is not approved or that much is not left (`whole`: nothing may be
    undone yet). The conditional update lets the database, not a lock, decide a race."""
    t = issuer_authorisation.c
    condition = t.undone_minor == 0 if whole else t.undone_minor + amount_minor <= t.amount_minor
    change = (
        update(issuer_authorisation)
        .where(t.reference == reference, t.state == "approved", condition)
        .values(undone_minor=t.undone_minor + amount_minor)
    )
    return conn.execute(change).rowcount == 1


def give_back_undone(conn: Connection, reference: str, amount_minor: int) -> None:
    """A follow-up of `reference` was reversed: what it undid is no longer undone."""
    t = issuer_authorisation.c
    conn.execute(
        update(issuer_authorisation)
        .where(t.reference == reference)
        .values(undone_minor=t.undone_minor - amount_minor)
    )


def mark_reversed(conn: Connection, reference: str) -> bool:
    """Move an approved authorisation to 'reversed'; False if it was not approved."""
    t = issuer_authorisation.c
    change = (
        update(issuer_authorisation)
        .where(t.reference == reference, t.state == "approved")
        .values(state="reversed")
    )
    return conn.execute(change).rowcount == 1


def record_tombstone(conn: Connection, reference: str, currency: str, at: datetime) -> None:
    """Remember a reversal that came before its authorisation, so a late one is refused.

    The row answers "25" (original not found) to any later authorisation or status
    query with this reference: the host has already decided the attempt is reversed.
    """
    conn.execute(
        insert(issuer_authorisation).values(
            reference=reference,
            kind=Kind.REVERSAL.value,
            pan_ref=None,
            pan_masked=None,
            amount_minor=0,
            currency=currency,
            response_code="25",
            auth_code=None,
            balance_minor=None,
            reason="a reversal arrived before any authorisation with this reference",
            entry_id=None,
            state="reversed",
            created_at=at,
        )
    )
