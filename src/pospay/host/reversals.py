"""The host's record of reversals (0400): each one durable before anything it causes.

A reversal is keyed by its own (terminal, STAN, transmission time) and names the
request it undoes by field 90. `record_reversal` stores it and, in the same unit,
decides what it means for the original:

- the host never saw the original: answered 25 at once (nothing moved), and the
  original's key is recorded as a REVERSED tombstone (`host.tombstones`), so the
  original, arriving late, is refused and never forwarded; a tombstone already there
  is answered 25 again;
- the original was declined: answered 00 at once, the original is left as it is;
- the original can no longer be reversed (voided, refunded, settled): answered 12;
- otherwise the original goes to REVERSAL_PENDING and the answer stays open until
  the channel has reversed the money (`confirm_reversal`, which answers 00).

An answered reversal row is the answer every retry of it gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from pospay.host import tombstones
from pospay.host.journal import RequestRecord, find_request, record_event
from pospay.host.originals import undo_on_original
from pospay.host.tables import host_reversal
from pospay.iso8583.response_codes import APPROVED
from pospay.transaction import TRANSITIONS, Event, State

ORIGINAL_NOT_FOUND = "25"
REVERSED = "00"
NOT_REVERSIBLE = "12"


@dataclass(frozen=True, slots=True)
class ReversalRecord:
    terminal_id: str
    stan: str
    transmission_at: str
    merchant_id: str
    processing_code: str
    amount_minor: int
    currency: str
    batch: str
    original_mti: str
    original_stan: str
    original_transmission_at: str
    reason_code: str


def find_reversal(
    connection: Connection, terminal_id: str, stan: str, transmission_at: str
) -> Row[Any] | None:
    return connection.execute(
        select(host_reversal).where(
            host_reversal.c.terminal_id == terminal_id,
            host_reversal.c.stan == stan,
            host_reversal.c.transmission_at == transmission_at,
        )
    ).first()


def record_reversal(
    connection: Connection, record: ReversalRecord, unseen: RequestRecord, now: datetime
) -> Row[Any]:
    """Store the reversal and mark its original; raises IntegrityError for a repeat (or
    when the original arrived while this unit recorded its tombstone: run it again).
    `unseen` is the tombstone to record if the host never saw the original."""
    original = find_request(
        connection, record.terminal_id, record.original_stan, record.original_transmission_at
    )
    answer: str | None
    if original is None:
        tombstones.after_reversal(connection, unseen, now)
        answer = ORIGINAL_NOT_FOUND
    elif original.tombstone is not None:
        original = None  # still never seen: the reversal names no received request
        answer = ORIGINAL_NOT_FOUND
    elif State(original.state) is State.DECLINED:
        answer = REVERSED  # nothing moved, nothing to undo
    elif State(original.state) is State.REVERSED:
        # Reversed at the channel already (an earlier reversal, or recovery): the money is
        # back, so this one is answered from the journal, however slow the channel is.
        answer = REVERSED
    elif (State(original.state), Event.REVERSE) not in TRANSITIONS:
        answer = NOT_REVERSIBLE
    else:
        record_event(connection, original.id, Event.REVERSE, now)
        answer = None
    values = {name: getattr(record, name) for name in ReversalRecord.__dataclass_fields__}
    row_id = connection.execute(
        insert(host_reversal)
        .values(
            **values,
            original_id=None if original is None else original.id,
            response_code=answer,
            created_at=now,
            updated_at=now,
        )
        .returning(host_reversal.c.id)
    ).scalar_one()
    return _row(connection, row_id)


def confirm_reversal(connection: Connection, reversal_id: int, now: datetime) -> Row[Any]:
    """The channel has reversed the money: the original is REVERSED, the answer 00."""
    row = _row(connection, reversal_id)
    assert row.original_id is not None, "only a reversal of a known original is confirmed"
    confirm_original(connection, row.original_id, now)
    connection.execute(
        update(host_reversal)
        .where(host_reversal.c.id == reversal_id)
        .values(response_code=REVERSED, updated_at=now)
    )
    return _row(connection, reversal_id)


def confirm_original(connection: Connection, original_id: int, now: datetime) -> Row[Any]:
    """The channel has reversed journal row `original_id`: it is REVERSED, and a reversed
    void, cancel or refund gives its own original back its state."""
    reversed_row = record_event(connection, original_id, Event.REVERSAL_CONFIRMED, now)
    if reversed_row.original_id is not None and reversed_row.response_code == APPROVED:
        undo_on_original(connection, reversed_row, now)
    return reversed_row


def answer_open_reversals(connection: Connection, original_id: int, now: datetime) -> int:
    """Answer 00 every reversal of `original_id` still unanswered (the host recovery job
    confirmed the reversal at the channel); how many there were."""
    t = host_reversal.c
    return int(
        connection.execute(
            update(host_reversal)
            .where(t.original_id == original_id, t.response_code.is_(None))
            .values(response_code=REVERSED, updated_at=now)
        ).rowcount
    )


def reversals(connection: Connection) -> list[Row[Any]]:
    return list(connection.execute(select(host_reversal).order_by(host_reversal.c.id)))


def _row(connection: Connection, reversal_id: int) -> Row[Any]:
    return connection.execute(select(host_reversal).where(host_reversal.c.id == reversal_id)).one()
