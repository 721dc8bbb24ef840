"""The terminal's reversal queue: what is stored before a reversal (0400) is sent.

A reversal is queued in the same unit of work that moves its attempt to
REVERSAL_PENDING, with its own STAN and transmission time chosen then and reused on
every try, so the host recognises a retry as the same reversal. A queued reversal is
`pending` until the host answers it 00 or 25 (`confirmed`, the attempt REVERSED), or
until it has been tried `reversal_retries` times (`failed`: the attempt stays
REVERSAL_PENDING and the row is kept for reconciliation).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from pospay.iso8583 import Message
from pospay.iso8583.fields import amount_field, transmission_field
from pospay.iso8583.messages import (
    PROCESSING_CODES,
    REQUEST_MTI,
    REVERSAL_NO_RESPONSE,
    REVERSAL_TERMINAL_RESTART,
    original_data_field,
)
from pospay.money import currency_numeric
from pospay.terminal import journal
from pospay.terminal.tables import terminal_journal, terminal_reversal
from pospay.transaction import Event, Kind, State


class ReversalState(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"


def queue_reversal(
    connection: Connection, attempt_id: int, reason_code: str, now: datetime
) -> Row[Any]:
    """Move the attempt to REVERSAL_PENDING and queue its reversal; returns the queue row."""
    attempt = journal.record_event(connection, attempt_id, Event.REVERSE, now)
    row_id = connection.execute(
        insert(terminal_reversal)
        .values(
            journal_id=attempt_id,
            terminal_id=attempt.terminal_id,
            reason_code=reason_code,
            stan=journal.next_stan(connection, attempt.terminal_id),
            transmission_at=transmission_field(now),
            tries=0,
            state=ReversalState.PENDING.value,
            last_error="",
            created_at=now,
            updated_at=now,
        )
        .returning(terminal_reversal.c.id)
    ).scalar_one()
    return reversal(connection, row_id)


def queue_interrupted(connection: Connection, terminal_id: str, now: datetime) -> list[int]:
    """Queue a reversal for every attempt a restart left without an answer: SENT ones
    (reason 06, in flight when the terminal stopped) and UNKNOWN ones not yet queued."""
    queued = select(terminal_reversal.c.journal_id)
    rows = connection.execute(
        select(terminal_journal.c.id, terminal_journal.c.state)
        .where(
            terminal_journal.c.terminal_id == terminal_id,
            terminal_journal.c.state.in_([State.SENT.value, State.UNKNOWN.value]),
            terminal_journal.c.id.not_in(queued),
        )
        .order_by(terminal_journal.c.id)
    ).all()
    ids = []
    for row in rows:
        reason = REVERSAL_TERMINAL_RESTART if row.state == State.SENT else REVERSAL_NO_RESPONSE
        ids.append(queue_reversal(connection, row.id, reason, now).id)
    return ids


# Asked before every attempt: built once.
_PENDING = (
    select(terminal_reversal.c.id)
    .where(
        terminal_reversal.c.terminal_id == bindparam("terminal_id"),
        terminal_reversal.c.state == ReversalState.PENDING.value,
    )
    .order_by(terminal_reversal.c.id)
)


def pending_reversals(connection: Connection, terminal_id: str) -> list[int]:
    """Ids of the reversals still to send, oldest first."""
    return list(connection.execute(_PENDING, {"terminal_id": terminal_id}).scalars())


def record_confirmed(
    connection: Connection, reversal_id: int, response_code: str, now: datetime
) -> Row[Any]:
    """The host answered: the reversal is confirmed and its attempt REVERSED."""
    row = reversal(connection, reversal_id)
    journal.record_event(connection, row.journal_id, Event.REVERSAL_CONFIRMED, now)
    connection.execute(
        update(terminal_reversal)
        .where(terminal_reversal.c.id == reversal_id)
        .values(
            state=ReversalState.CONFIRMED.value,
            response_code=response_code,
            tries=terminal_reversal.c.tries + 1,
            updated_at=now,
        )
    )
    return reversal(connection, reversal_id)


def record_failed_try(
    connection: Connection, reversal_id: int, error: str, max_tries: int, now: datetime
) -> Row[Any]:
    """Count a try that got no usable answer; the last allowed one fails the reversal."""
    row = reversal(connection, reversal_id)
    tries = row.tries + 1
    state = ReversalState.FAILED if tries >= max_tries else ReversalState.PENDING
    connection.execute(
        update(terminal_reversal)
        .where(terminal_reversal.c.id == reversal_id)
        .values(tries=tries, state=state.value, last_error=error, updated_at=now)
    )
    return reversal(connection, reversal_id)


def reversal(connection: Connection, reversal_id: int) -> Row[Any]:
    return connection.execute(
        select(terminal_reversal).where(terminal_reversal.c.id == reversal_id)
    ).one()


def reversals(connection: Connection, terminal_id: str | None = None) -> list[Row[Any]]:
    query = select(terminal_reversal).order_by(terminal_reversal.c.id)
    if terminal_id is not None:
        query = query.where(terminal_reversal.c.terminal_id == terminal_id)
    return list(connection.execute(query))


def reversal_request(attempt: Row[Any], queued: Row[Any], merchant_id: str) -> Message:
    """The 0400 for a queued reversal: no card number, the original named by field 90."""
    kind = Kind(attempt.kind)
    return {
        "t": REQUEST_MTI[Kind.REVERSAL],
        "3": PROCESSING_CODES[kind],
        "4": amount_field(attempt.amount_minor),
        "7": queued.transmission_at,
        "11": queued.stan,
        "39": queued.reason_code,
        "41": attempt.terminal_id,
        "42": merchant_id,
        "49": currency_numeric(attempt.currency),
        "60": attempt.batch,
        "90": original_data_field(REQUEST_MTI[kind], attempt.stan, attempt.transmission_at),
    }
