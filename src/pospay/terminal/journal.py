"""The terminal journal: numbers, attempts and receipts, each change one durable unit.

STAN and voucher numbers run 000001..999999 and wrap; the batch number changes at
settlement. They live in `terminal_state` so they survive restarts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update

from pospay.emv import IccData
from pospay.storage.prepared import by_id
from pospay.storage.transitions import transition
from pospay.terminal.tables import terminal_journal, terminal_receipt, terminal_state
from pospay.transaction import Event, Kind, Method, State, apply
from pospay.transaction.follow_ups import event_on_original

_WRAP = 999_999


@dataclass(frozen=True, slots=True)
class Numbers:
    stan: str
    voucher: str
    batch: str


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    terminal_id: str
    kind: Kind
    method: Method
    amount_minor: int
    currency: str
    pan_masked: str
    brand: str
    operator: str
    transmission_at: str
    # The supervisor who authorised it, for kinds the supervisor policy names.
    supervisor: str | None = None
    # A void, refund, completion or cancel: the attempt it acts on.
    original_id: int | None = None
    # Fields 22 and 23 as sent.
    pos_entry_mode: str | None = None
    card_sequence: str | None = None
    # What the chip answered (chip and contactless), for receipts.
    emv: IccData | None = None
    # The terminal's own reference of the attempt; random unless the caller picks it
    # (the chaos simulation draws it from its seed).
    local_ref: str = field(default_factory=lambda: uuid.uuid4().hex)
    # A QR payment: the wallet; a follow-up of one also its original's order and payer.
    wallet: str | None = None
    wallet_order: str | None = None
    payer_masked: str | None = None


def ensure_terminal(connection: Connection, terminal_id: str, merchant_id: str) -> None:
    """Create the terminal's counters on first use; later calls change nothing."""
    exists = connection.execute(
        select(terminal_state.c.terminal_id).where(terminal_state.c.terminal_id == terminal_id)
    ).first()
    if exists is None:
        connection.execute(
            insert(terminal_state).values(
                terminal_id=terminal_id, merchant_id=merchant_id, stan=0, voucher=0, batch=1
            )
        )


def current_batch(connection: Connection, terminal_id: str) -> str:
    batch = connection.execute(
        select(terminal_state.c.batch).where(terminal_state.c.terminal_id == terminal_id)
    ).scalar_one()
    return f"{batch:06d}"


# Taking a number is one statement: the counter moves where it is stored and comes back
# as it now is, so two writers (on PostgreSQL, two processes) never take the same one.
_COUNTERS = terminal_state.c
_TAKE = update(terminal_state).where(_COUNTERS.terminal_id == bindparam("b_terminal"))
_TAKE_STAN = _TAKE.values(stan=_COUNTERS.stan % _WRAP + 1).returning(_COUNTERS.stan)
_TAKE_NUMBERS = _TAKE.values(
    stan=_COUNTERS.stan % _WRAP + 1, voucher=_COUNTERS.voucher % _WRAP + 1
).returning(_COUNTERS.stan, _COUNTERS.voucher, _COUNTERS.batch)
_INSERT_ATTEMPT = insert(terminal_journal).returning(*terminal_journal.c)


def next_stan(connection: Connection, terminal_id: str) -> str:
    """Take the next STAN (for messages that are not attempts, such as sign-in)."""
    stan = connection.execute(_TAKE_STAN, {"b_terminal": terminal_id}).scalar_one()
    return f"{stan:06d}"


def record_signed_in(connection: Connection, terminal_id: str, at: datetime) -> None:
    connection.execute(
        update(terminal_state)
        .where(terminal_state.c.terminal_id == terminal_id)
        .values(signed_in_at=at)
    )


def record_attempt(connection: Connection, record: AttemptRecord, now: datetime) -> Row[Any]:
    """Take STAN and voucher numbers and record the attempt as SENT, before it is sent."""
    stan, voucher, batch = connection.execute(
        _TAKE_NUMBERS, {"b_terminal": record.terminal_id}
    ).one()
    values = {
        "terminal_id": record.terminal_id,
        "local_ref": record.local_ref,
        "stan": f"{stan:06d}",
        "voucher": f"{voucher:06d}",
        "batch": f"{batch:06d}",
        "transmission_at": record.transmission_at,
        "kind": record.kind.value,
        "method": record.method.value,
        "amount_minor": record.amount_minor,
        "currency": record.currency,
        "pan_masked": record.pan_masked,
        "brand": record.brand,
        "operator": record.operator,
        "supervisor": record.supervisor,
        "original_id": record.original_id,
        "pos_entry_mode": record.pos_entry_mode,
        "card_sequence": record.card_sequence,
        **_emv_columns(record.emv),
        "wallet": record.wallet,
        "wallet_order": record.wallet_order,
        "payer_masked": record.payer_masked,
        "state": apply(State.CREATED, Event.SEND).value,
        "reason": "",
        "created_at": now,
        "updated_at": now,
    }
    return connection.execute(_INSERT_ATTEMPT, values).one()


def record_outcome(
    connection: Connection,
    attempt_id: int,
    event: Event,
    *,
    response_code: str | None,
    auth_code: str | None,
    rrn: str | None,
    balance_minor: int | None,
    reason: str,
    now: datetime,
) -> Row[Any]:
    """Apply `event` to the attempt's state and store the answer."""
    return transition(
        connection,
        terminal_journal,
        attempt_id,
        event,
        now,
        response_code=response_code,
        auth_code=auth_code,
        rrn=rrn,
        balance_minor=balance_minor,
        reason=reason,
    )


def record_event(connection: Connection, attempt_id: int, event: Event, now: datetime) -> Row[Any]:
    """Apply `event` to the attempt's state, leaving its answer as it is (reversal steps)."""
    return transition(connection, terminal_journal, attempt_id, event, now)


def store_receipt(
    connection: Connection, attempt: Row[Any], copy: str, text: str, escpos: bytes, now: datetime
) -> int:
    """Store an original receipt (reprint number 0) of `attempt`; a second original
    violates a constraint."""
    values = {
        "journal_id": attempt.id,
        "terminal_id": attempt.terminal_id,
        "copy": copy,
        "reprint_number": 0,
        "text": text,
        "escpos": escpos,
        "created_at": now,
    }
    return int(connection.execute(_INSERT_RECEIPT, values).scalar_one())


_INSERT_RECEIPT = insert(terminal_receipt).returning(terminal_receipt.c.id)


def attempt(connection: Connection, attempt_id: int) -> Row[Any]:
    return connection.execute(by_id(terminal_journal), {"b_id": attempt_id}).one()


def attempts(connection: Connection, terminal_id: str | None = None) -> list[Row[Any]]:
    query = select(terminal_journal).order_by(terminal_journal.c.id)
    if terminal_id is not None:
        query = query.where(terminal_journal.c.terminal_id == terminal_id)
    return list(connection.execute(query))


def find_original(
    connection: Connection, terminal_id: str, kind: Kind, reference: str
) -> Row[Any] | None:
    """The latest `kind` attempt of this terminal with voucher number `reference` (six
    digits) or RRN `reference` (twelve), among those the host answered."""
    t = terminal_journal.c
    named = t.voucher == reference if len(reference) == 6 else t.rrn == reference
    return connection.execute(
        select(terminal_journal)
        .where(t.terminal_id == terminal_id, t.kind == kind.value, t.rrn.is_not(None), named)
        .order_by(t.id.desc())
    ).first()


def apply_to_original(connection: Connection, follow_up: Row[Any], now: datetime) -> None:
    """The approved `follow_up` moves its original (voided, or refunded in full)."""
    t = terminal_journal.c
    original = attempt(connection, follow_up.original_id)
    refunded = connection.execute(
        select(func.coalesce(func.sum(t.amount_minor), 0)).where(
            t.original_id == original.id,
            t.kind == Kind.REFUND.value,
            t.state.in_([State.APPROVED.value, State.SETTLED.value]),
        )
    ).scalar_one()
    event = event_on_original(
        Kind(follow_up.kind), original_minor=original.amount_minor, refunded_minor=int(refunded)
    )
    if event is not None:
        record_event(connection, original.id, event, now)


def _emv_columns(emv: IccData | None) -> dict[str, Any]:
    """The journal columns of a chip answer: nothing that is cardholder data."""
    if emv is None:
        return {}
    return {
        "emv_aid": emv.aid,
        "emv_label": emv.application_label,
        "emv_tvr": emv.tags["95"].hex().upper(),
        "emv_tsi": emv.tsi.hex().upper(),
        "emv_atc": emv.atc,
        "emv_arqc": emv.arqc.hex().upper(),
    }


def record_unknown(connection: Connection, attempt_id: int, reason: str, now: datetime) -> None:
    """Record that the attempt's answer never came (or came unusable): UNKNOWN. An attempt
    already UNKNOWN (its status query could not tell) stays as it is."""
    if State(attempt(connection, attempt_id).state) is State.UNKNOWN:
        return
    record_outcome(
        connection,
        attempt_id,
        Event.TIME_OUT,
        response_code=None,
        auth_code=None,
        rrn=None,
        balance_minor=None,
        reason=reason,
        now=now,
    )
