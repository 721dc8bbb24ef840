"""The host journal: every accepted request, recorded before it is forwarded.

Functions here take a SQLAlchemy connection and run inside the caller's unit of
work (see `pospay.storage.GroupCommitter`); states change only through
`pospay.transaction.apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from pospay.host.tables import host_journal, host_terminal
from pospay.iso8583.response_codes import BATCH_SETTLED
from pospay.storage.prepared import by_id, update_by_id
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


_BY_KEY = select(host_journal).where(
    host_journal.c.terminal_id == bindparam("terminal_id"),
    host_journal.c.stan == bindparam("stan"),
    host_journal.c.transmission_at == bindparam("transmission_at"),
)
_INSERT = insert(host_journal).returning(host_journal.c.id)


def find_request(
    connection: Connection, terminal_id: str, stan: str, transmission_at: str
) -> Row[Any] | None:
    """The journal row of this request key, if the host has seen it."""
    key = {"terminal_id": terminal_id, "stan": stan, "transmission_at": transmission_at}
    return connection.execute(_BY_KEY, key).first()


def record_request(connection: Connection, record: RequestRecord, now: datetime) -> Row[Any]:
    """Insert the request as SENT (its intent is durable before it is forwarded) and
    give it its RRN. Raises IntegrityError if the key exists: the caller replays."""
    state = apply(State.CREATED, Event.SEND)
    values = _columns(record) | {
        "state": state.value,
        "reason": "",
        "created_at": now,
        "updated_at": now,
    }
    return _with_rrn(connection, connection.execute(_INSERT, values).scalar_one())


def _columns(record: RequestRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in RequestRecord.__dataclass_fields__}
    values.update(kind=record.kind.value, method=record.method.value)
    return values


def _with_rrn(connection: Connection, row_id: int) -> Row[Any]:
    """Give the new row `row_id` its RRN (its id, twelve digits); the row."""
    return connection.execute(
        update_by_id(host_journal), {"b_id": row_id, "rrn": f"{row_id:012d}"}
    ).one()


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
    values = _columns(record) | {
        "state": state.value,
        "response_code": response_code,
        "reason": reason,
        "tombstone": tombstone,
        "created_at": now,
        "updated_at": now,
    }
    return _with_rrn(connection, connection.execute(_INSERT, values).scalar_one())


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
    return transition(
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


def record_event(connection: Connection, row_id: int, event: Event, now: datetime) -> Row[Any]:
    """Apply `event` to the row's state, leaving its answer as it is (reversal steps)."""
    return transition(connection, host_journal, row_id, event, now)


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


def record_wallet_payment(
    connection: Connection, row_id: int, trade_no: str | None, payer_masked: str | None
) -> None:
    """Keep what a wallet said of a QR payment on its row, for the receipts: the
    wallet's trade number and the payer as the wallet masked it."""
    connection.execute(
        update(host_journal)
        .where(host_journal.c.id == row_id)
        .values(wallet_trade_no=trade_no, payer_masked=payer_masked)
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


_NOT_SIGNED_IN = ("58", "terminal has not signed in under this merchant")


_ADMISSION = (
    select(host_terminal.c.merchant_id, host_terminal.c.settled_batch)
    .where(host_terminal.c.terminal_id == bindparam("terminal_id"))
    .with_for_update(read=True)
)


def admission(
    connection: Connection, terminal_id: str, merchant_id: str, batch: str
) -> tuple[str, str] | None:
    """Why the host refuses a request of the terminal's batch `batch` before it reaches a
    channel (response code, reason), or None: not signed in (58), or the batch is one the
    host has settled already (77: the terminal missed the 0510 and must settle again).

    The terminal's row is read FOR SHARE (PostgreSQL; SQLite's write transactions are
    serial anyway) and settlement locks it FOR UPDATE first (`lock_terminal`), so a
    request and the settlement of its batch, even in two host processes, are ordered:
    the request is in the batch's totals or refused, never approved after them.
    """
    row = connection.execute(_ADMISSION, {"terminal_id": terminal_id}).first()
    if row is None or row.merchant_id != merchant_id:
        return _NOT_SIGNED_IN
    if row.settled_batch == batch:
        return BATCH_SETTLED, f"batch {batch} is settled already: settle the terminal again"
    return None


def lock_terminal(connection: Connection, terminal_id: str) -> Row[Any] | None:
    """The terminal's sign-in row, locked for this unit (see `admission`)."""
    return connection.execute(
        select(host_terminal).where(host_terminal.c.terminal_id == terminal_id).with_for_update()
    ).first()


def record_batch_settled(connection: Connection, terminal_id: str, batch: str) -> None:
    """Remember `batch` as the terminal's last settled batch (see `admission`)."""
    connection.execute(
        update(host_terminal)
        .where(host_terminal.c.terminal_id == terminal_id)
        .values(settled_batch=batch)
    )


_BY_RRN = select(host_journal).where(host_journal.c.rrn == bindparam("rrn"))


def find_by_rrn(connection: Connection, rrn: str) -> Row[Any] | None:
    """The journal row the host gave retrieval reference number `rrn`, if any."""
    return connection.execute(_BY_RRN, {"rrn": rrn}).first()


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
    return connection.execute(by_id(host_journal), {"b_id": row_id}).one()
