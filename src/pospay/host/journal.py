"""The host journal: every accepted request, recorded before it is forwarded.

Functions here take a SQLAlchemy connection and run inside the caller's unit of
work (see `pospay.storage.GroupCommitter`); states change only through
`pospay.transaction.apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from pospay.host.tables import host_journal, host_terminal
from pospay.storage.transitions import transition
from pospay.transaction import Event, Kind, Method, State, apply


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """What the host keeps of an incoming card request (no full PAN)."""

    terminal_id: str
    stan: str
    transmission_at: str
    merchant_id: str
    mti: str
    processing_code: str
    kind: Kind
    method: Method
    amount_minor: int
    currency: str
    pan_masked: str
    pan_ref: str
    batch: str
    # A void, refund, completion or cancel: the journal row of the attempt it acts on.
    original_id: int | None = None
    # Fields 22 and 23 as received (none for a follow-up, which carries no card).
    pos_entry_mode: str | None = None
    card_sequence: str | None = None
    # A QR wallet payment: which wallet (`pospay.qr.Wallet`).
    wallet: str | None = None


def find_request(
    connection: Connection, terminal_id: str, stan: str, transmission_at: str
) -> Row[Any] | None:
    """The journal row of this request key, if the host has seen it."""
    return connection.execute(
        select(host_journal).where(
            host_journal.c.terminal_id == terminal_id,
            host_journal.c.stan == stan,
            host_journal.c.transmission_at == transmission_at,
        )
    ).first()


def record_request(connection: Connection, record: RequestRecord, now: datetime) -> Row[Any]:
    """Insert the request as SENT (its intent is durable before it is forwarded) and
    give it its RRN. Raises IntegrityError if the key exists: the caller replays."""
    state = apply(State.CREATED, Event.SEND)
    values = {name: getattr(record, name) for name in RequestRecord.__dataclass_fields__}
    values.update(kind=record.kind.value, method=record.method.value)
    row_id = connection.execute(
        insert(host_journal)
        .values(**values, state=state.value, reason="", created_at=now, updated_at=now)
        .returning(host_journal.c.id)
    ).scalar_one()
    connection.execute(
        update(host_journal).where(host_journal.c.id == row_id).values(rrn=f"{row_id:012d}")
    )
    return _row(connection, row_id)


def record_local_decline(
    connection: Connection, record: RequestRecord, response_code: str, reason: str, now: datetime
) -> Row[Any]:
    """Record a request the host declines itself without forwarding it."""
    state = apply(State.CREATED, Event.DECLINE)
    return _insert_final(connection, record, state, response_code, reason, None, now)


def record_tombstone(
    connection: Connection,
    record: RequestRecord,
    events: tuple[Event, ...],
    *,
    response_code: str | None,
    reason: str,
    tombstone: str,
    now: datetime,
) -> Row[Any]:
    """Record, final, a request key the host never received, so that the request is
    refused by the duplicate key if it ever arrives. `events` take the new row from
    CREATED to its final state through the life cycle. Raises IntegrityError if the key
    exists (the request arrived meanwhile)."""
    state = State.CREATED
    for event in events:
        state = apply(state, event)
    return _insert_final(connection, record, state, response_code, reason, tombstone, now)


def _insert_final(
    connection: Connection,
    record: RequestRecord,
    state: State,
    response_code: str | None,
    reason: str,
    tombstone: str | None,
    now: datetime,
) -> Row[Any]:
    values = {name: getattr(record, name) for name in RequestRecord.__dataclass_fields__}
    values.update(kind=record.kind.value, method=record.method.value)
    row_id = connection.execute(
        insert(host_journal)
        .values(
            **values,
            state=state.value,
            response_code=response_code,
            reason=reason,
            tombstone=tombstone,
            created_at=now,
            updated_at=now,
        )
        .returning(host_journal.c.id)
    ).scalar_one()
    connection.execute(
        update(host_journal).where(host_journal.c.id == row_id).values(rrn=f"{row_id:012d}")
    )
    return _row(connection, row_id)


def record_outcome(
    connection: Connection,
    row_id: int,
    event: Event,
    *,
    response_code: str | None,
    auth_code: str | None,
    balance_minor: int | None,
    reason: str,
    now: datetime,
    issuer_auth_data: str | None = None,
) -> Row[Any]:
    """Apply `event` to the row's state and store the answer."""
    transition(
        connection,
        host_journal,
        row_id,
        event,
        now,
        response_code=response_code,
        auth_code=auth_code,
        balance_minor=balance_minor,
        reason=reason,
        issuer_auth_data=issuer_auth_data,
    )
    return _row(connection, row_id)


def record_event(connection: Connection, row_id: int, event: Event, now: datetime) -> Row[Any]:
    """Apply `event` to the row's state, leaving its answer as it is (reversal steps)."""
    transition(connection, host_journal, row_id, event, now)
    return _row(connection, row_id)


def record_replay(connection: Connection, row_id: int, response_code: str, now: datetime) -> None:
    """Count a duplicate transmission of the request, and the answer it was given."""
    connection.execute(
        update(host_journal)
        .where(host_journal.c.id == row_id)
        .values(
            replays=host_journal.c.replays + 1,
            last_replay_at=now,
            last_replay_code=response_code,
        )
    )


def request_row(connection: Connection, row_id: int) -> Row[Any]:
    """The journal row with id `row_id`."""
    return _row(connection, row_id)


def record_sign_in(
    connection: Connection, terminal_id: str, merchant_id: str, batch: str, now: datetime
) -> int:
    """Register a sign-in; returns how many times the terminal has signed in."""
    changed = connection.execute(
        update(host_terminal)
        .where(host_terminal.c.terminal_id == terminal_id)
        .values(
            merchant_id=merchant_id,
            batch=batch,
            signed_in_at=now,
            sign_ins=host_terminal.c.sign_ins + 1,
        )
    ).rowcount
    if not changed:
        connection.execute(
            insert(host_terminal).values(
                terminal_id=terminal_id,
                merchant_id=merchant_id,
                batch=batch,
                signed_in_at=now,
                sign_ins=1,
            )
        )
    return int(
        connection.execute(
            select(host_terminal.c.sign_ins).where(host_terminal.c.terminal_id == terminal_id)
        ).scalar_one()
    )


def is_signed_in(connection: Connection, terminal_id: str, merchant_id: str) -> bool:
    """Whether the terminal has signed in under this merchant."""
    row = connection.execute(
        select(host_terminal.c.merchant_id).where(host_terminal.c.terminal_id == terminal_id)
    ).first()
    return row is not None and row.merchant_id == merchant_id


def find_by_rrn(connection: Connection, rrn: str) -> Row[Any] | None:
    """The journal row the host gave retrieval reference number `rrn`, if any."""
    return connection.execute(select(host_journal).where(host_journal.c.rrn == rrn)).first()


def follow_ups(connection: Connection, original_id: int) -> list[Row[Any]]:
    """The voids, refunds, completions and cancels recorded against `original_id`."""
    return list(
        connection.execute(
            select(host_journal)
            .where(host_journal.c.original_id == original_id)
            .order_by(host_journal.c.id)
        )
    )


def _row(connection: Connection, row_id: int) -> Row[Any]:
    return connection.execute(select(host_journal).where(host_journal.c.id == row_id)).one()
