"""The host's side of end-of-day settlement: 0500 settlement and 0320 batch upload.

Settlement moves no money: the money moved when each attempt was approved. It checks
that the terminal and the host count the same batch, and closes it.

0500, processing code 920000 (settlement). The host totals the batch (terminal id,
field 60) from its own journal with the rules of `pospay.settlement` and compares
with the terminal's totals in field 63:

- equal: in one unit the batch's counted approved attempts become SETTLED and the
  settlement is recorded; the answer is 00 with the host's totals in field 63;
- different: the settlement is recorded unbalanced and the answer is 95 (reconcile
  error) with the host's totals in field 63. Nothing else changes.

0320 (batch upload): the terminal reports one approved attempt of the batch (field 90
names it by its request key, fields 3, 4, 37 say what it was). The host records the
report, matched to its journal row when it has one, and answers 00. A repeated report
of the same attempt changes nothing and is answered 00 again.

0500, processing code 960000 (settlement after batch upload). If the host's journal
now balances, as for 920000. Otherwise the host adopts the uploaded view: when the
uploaded reports total exactly the terminal's field 63, it answers 00 and records
the settlement as balanced after upload, with every difference between the reports
and its journal listed (attempt unknown to the host, not approved on the host,
different amount, approved on the host but not reported). The differences are kept
in `host_settlement.differences` and logged as an anomaly for reconciliation; the
host never moves money or changes an attempt's outcome because of them. Only journal
rows that are approved on the host and were reported become SETTLED. When the reports
do not add up to field 63 either, the answer is 95 again.

A 0500 for a batch the host has settled already is answered with the stored answer,
so a terminal that lost the 0510 settles again safely.

A batch with an attempt still in progress on the host (sent, unknown or reversal
pending) cannot be totalled yet: a 0500 of either processing code is answered 09
(request in progress) and nothing is recorded; the terminal settles again later.
Without this, a late 0500 (one the network held back while the terminal, hearing
nothing, went on trading in the same batch) would close the batch around an attempt
whose approval came after, and the host's settled totals would no longer be its
journal's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from pospay.clock import Clock
from pospay.host import journal
from pospay.host.tables import host_batch_upload, host_journal, host_settlement
from pospay.iso8583 import Message
from pospay.iso8583.fields import read_amount
from pospay.iso8583.messages import (
    SETTLEMENT_AFTER_UPLOAD_CODE,
    kind_of,
    read_original_data_field,
    response_mti,
)
from pospay.money.amount import currency_from_numeric
from pospay.settlement import BatchTotals, counted, read_totals_field, totals_field, totals_of
from pospay.storage import Committer
from pospay.storage.transitions import transition
from pospay.transaction import Event, State, is_final

log = logging.getLogger(__name__)

BALANCED = "00"
RECONCILE_ERROR = "95"
NOT_SIGNED_IN = "58"
IN_PROGRESS = "09"
INVALID_TRANSACTION = "12"


@dataclass(frozen=True, slots=True)
class _Decision:
    response_code: str
    host_totals: BatchTotals
    differences: list[str]


async def settle(committer: Committer, clock: Clock, request: Message) -> Message:
    """Answer a 0500: balanced (00) or reconcile error (95), see the module docstring."""
    terminal_totals = read_totals_field(request["63"])
    currency = currency_from_numeric(request["49"])
    terminal_id, merchant_id, batch = request["41"], request["42"], request["60"][:6]
    after_upload = request["3"] == SETTLEMENT_AFTER_UPLOAD_CODE
    now = clock.now()

    def work(connection: Connection) -> tuple[str, str]:
        # Locked first: a request of this batch is either counted here or refused 77.
        signed_in = journal.lock_terminal(connection, terminal_id)
        if signed_in is None or signed_in.merchant_id != merchant_id:
            return NOT_SIGNED_IN, totals_field(BatchTotals())
        stored = _settlement(connection, terminal_id, batch)
        if stored is not None and stored.state == "settled":
            log.info("settlement of %s batch %s repeated: stored answer", terminal_id, batch)
            return stored.response_code, stored.host_totals
        rows = _batch_rows(connection, terminal_id, batch)
        in_progress = [row for row in rows if not is_final(State(row.state))]
        if in_progress:
            log.info(
                "settlement of %s batch %s waits: %d attempts in progress (STAN %s)",
                terminal_id,
                batch,
                len(in_progress),
                ", ".join(row.stan for row in in_progress),
            )
            return IN_PROGRESS, totals_field(_totals(rows))
        decision = _decide(connection, terminal_id, batch, rows, terminal_totals, after_upload)
        settled = decision.response_code == BALANCED
        if settled:
            _settle_rows(connection, terminal_id, batch, decision, now)
            journal.record_batch_settled(connection, terminal_id, batch)
        values = {
            "merchant_id": merchant_id,
            "currency": currency,
            "state": "settled" if settled else "unbalanced",
            "terminal_totals": totals_field(terminal_totals),
            "host_totals": totals_field(decision.host_totals),
            "response_code": decision.response_code,
            "after_upload": after_upload,
            "differences": "\n".join(decision.differences),
            "settled_at": now if settled else None,
            "updated_at": now,
        }
        if stored is None:
            connection.execute(
                insert(host_settlement).values(
                    terminal_id=terminal_id, batch=batch, created_at=now, **values
                )
            )
        else:
            connection.execute(
                update(host_settlement).where(host_settlement.c.id == stored.id).values(**values)
            )
        if decision.differences:
            log.warning(
                "settlement anomaly: %s batch %s balanced after upload with %d differences: %s",
                terminal_id,
                batch,
                len(decision.differences),
                "; ".join(decision.differences),
            )
        return decision.response_code, totals_field(decision.host_totals)

    code, host_totals = await committer.run(work)
    log.info("settlement of %s batch %s answered %s", terminal_id, batch, code)
    return {
        "t": response_mti(request["t"]),
        "3": request["3"],
        "7": request["7"],
        "11": request["11"],
        "39": code,
        "41": terminal_id,
        "42": merchant_id,
        "49": request["49"],
        "60": request["60"],
        "63": host_totals,
    }


async def upload(committer: Committer, clock: Clock, request: Message) -> Message:
    """Answer a 0320: record the reported attempt (once) and answer 00."""
    amount = read_amount(request)
    original_mti, original_stan, original_at = read_original_data_field(request["90"])
    # What was reported: the original's MTI (field 90) and processing code say it.
    kind = kind_of({"t": original_mti, "3": request["3"]})
    terminal_id, batch = request["41"], request["60"][:6]
    now = clock.now()

    def work(connection: Connection) -> None:
        original = journal.find_request(connection, terminal_id, original_stan, original_at)
        assert kind is not None
        connection.execute(
            insert(host_batch_upload).values(
                terminal_id=terminal_id,
                batch=batch,
                stan=request["11"],
                transmission_at=request["7"],
                original_mti=original_mti,
                original_stan=original_stan,
                original_transmission_at=original_at,
                processing_code=request["3"],
                kind=kind.value,
                amount_minor=amount.minor,
                currency=amount.currency,
                rrn=request.get("37"),
                journal_id=original.id if original is not None else None,
                created_at=now,
            )
        )

    code = "00"
    if kind is None or not counted(kind.value, State.APPROVED.value):
        code = INVALID_TRANSACTION  # only attempts that settle are uploaded
    else:
        try:
            await committer.run(work)
        except IntegrityError:
            log.info("batch upload of %s/%s repeated", terminal_id, original_stan)
    response: Message = {
        "t": response_mti(request["t"]),
        "3": request["3"],
        "4": request["4"],
        "7": request["7"],
        "11": request["11"],
        "39": code,
        "41": terminal_id,
        "42": request["42"],
        "49": request["49"],
        "60": request["60"],
    }
    return response


def settlement_row(connection: Connection, terminal_id: str, batch: str) -> Row[Any] | None:
    """The host's settlement record of a terminal's batch, if it has one."""
    return _settlement(connection, terminal_id, batch)


def _settlement(connection: Connection, terminal_id: str, batch: str) -> Row[Any] | None:
    return connection.execute(
        select(host_settlement).where(
            host_settlement.c.terminal_id == terminal_id, host_settlement.c.batch == batch
        )
    ).first()


def _batch_rows(connection: Connection, terminal_id: str, batch: str) -> list[Row[Any]]:
    return list(
        connection.execute(
            select(host_journal).where(
                host_journal.c.terminal_id == terminal_id, host_journal.c.batch == batch
            )
        )
    )


def _uploads(connection: Connection, terminal_id: str, batch: str) -> list[Row[Any]]:
    return list(
        connection.execute(
            select(host_batch_upload)
            .where(
                host_batch_upload.c.terminal_id == terminal_id, host_batch_upload.c.batch == batch
            )
            .order_by(host_batch_upload.c.id)
        )
    )


def _totals(rows: list[Row[Any]]) -> BatchTotals:
    return totals_of((row.kind, row.state, row.amount_minor) for row in rows)


def _decide(
    connection: Connection,
    terminal_id: str,
    batch: str,
    rows: list[Row[Any]],
    terminal_totals: BatchTotals,
    after_upload: bool,
) -> _Decision:
    """The answer to a 0500 of the batch whose journal rows, all final, are `rows`."""
    host_totals = _totals(rows)
    if host_totals == terminal_totals:
        return _Decision(BALANCED, host_totals, [])
    if not after_upload:
        return _Decision(RECONCILE_ERROR, host_totals, [])
    uploads = _uploads(connection, terminal_id, batch)
    uploaded = totals_of((row.kind, State.APPROVED.value, row.amount_minor) for row in uploads)
    if uploaded != terminal_totals:
        return _Decision(RECONCILE_ERROR, host_totals, [])
    return _Decision(BALANCED, uploaded, _differences(rows, uploads))


def _differences(rows: list[Row[Any]], uploads: list[Row[Any]]) -> list[str]:
    by_id = {row.id: row for row in rows}
    reported = set()
    found = []
    for upload in uploads:
        what = f"STAN {upload.original_stan} at {upload.original_transmission_at}"
        row = by_id.get(upload.journal_id) if upload.journal_id is not None else None
        if row is None:
            found.append(f"{what}: approved on the terminal, not in the host journal")
            continue
        reported.add(row.id)
        if not counted(row.kind, row.state):
            found.append(f"{what}: approved on the terminal, {row.state} on the host")
        elif row.amount_minor != upload.amount_minor:
            found.append(
                f"{what}: terminal amount {upload.amount_minor}, host amount {row.amount_minor}"
            )
    for row in rows:
        if row.id not in reported and counted(row.kind, row.state):
            found.append(
                f"STAN {row.stan} at {row.transmission_at}: {row.state} on the host, "
                "not reported by the terminal"
            )
    return found


def _settle_rows(
    connection: Connection,
    terminal_id: str,
    batch: str,
    decision: _Decision,
    now: datetime,
) -> None:
    """SETTLE the batch's approved counted rows; after an upload with differences, only
    those the terminal reported (the rest stay for reconciliation)."""
    reported: set[int] | None = None
    if decision.differences:
        reported = {
            row.journal_id
            for row in _uploads(connection, terminal_id, batch)
            if row.journal_id is not None
        }
    for row in _batch_rows(connection, terminal_id, batch):
        if State(row.state) is not State.APPROVED or not counted(row.kind, row.state):
            continue
        if reported is not None and row.id not in reported:
            continue
        transition(connection, host_journal, row.id, Event.SETTLE, now)
