"""Printing from stored jobs: after the outcome and its receipts are committed.

Every job the terminal prints is stored first: the receipts of an attempt
(`terminal_receipt`), the settlement slip (`terminal_settlement`) and the
reversal-failure slip (`terminal_slip`). A job that prints is marked printed
(durably) before the next one is sent to the printer, so jobs are marked in the order
they printed; a printer fault leaves the job stored and unprinted, visible as pending
(`pending_jobs`), and never touches the transaction.

The print queue (`ReceiptSpooler.drain`) prints every pending job of the terminal,
reversal-failure slips first, then the rest oldest first (an attempt's customer copy
before its merchant copy), and stops at the first `PrinterFault`: the printer is down,
so the rest wait for the next drain (before every transaction and at sign-in).

Never a second original: each job is marked *started* (`print_started_at`, durable)
before the printer gets it, and *printed* after. A printer fault clears the start mark:
nothing came out. A job found started but not printed was cut off by a crash, and the
paper may have come out: the queue counts the interruption (`print_interruptions`) and
prints the stored job again as a marked copy, "重打印 REPRINT n · 打印中断"
(`receipts.copy_mark`), never as a second original.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Connection,
    Row,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    union_all,
    update,
)

from pospay.clock import Clock
from pospay.errors import PrinterFault
from pospay.printer import ReceiptPrinter
from pospay.receipts.copy_mark import interrupted_copy
from pospay.storage import Committer
from pospay.terminal.tables import (
    terminal_journal,
    terminal_receipt,
    terminal_settlement,
    terminal_slip,
)

log = logging.getLogger(__name__)


class Source(StrEnum):
    """Where a stored job lives: the table whose `printed_at` marks it printed."""

    SLIP = "slip"
    RECEIPT = "receipt"
    SETTLEMENT = "settlement"


@dataclass(frozen=True, slots=True)
class PrintJob:
    """A stored job as the queue orders it. Its text and ESC/POS stay in the database
    until the job is started (`_starter` reads them back), so a queue that waits for a
    printer costs one small row per job, not the jobs themselves."""

    source: Source
    row_id: int
    name: str  # the printer's job name: "<voucher>-<copy>", "settlement-<batch>", ...
    voucher: str | None  # the attempt's voucher number (None for a settlement slip)
    copy: str  # customer | merchant | settlement | reversal_failed
    created_at: datetime
    # Whether a crash cut off this job's last print (started, never marked printed).
    cut_off: bool = False
    # Copies printed because prints were cut off: above 0, this job prints marked.
    copy_number: int = 0

    @property
    def key(self) -> tuple[Source, int]:
        return self.source, self.row_id


class PendingPrint(NamedTuple):
    """One stored job not yet printed, as the operator is shown it."""

    voucher: str | None
    copy: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DrainResult:
    """What one drain of the print queue did."""

    fault: str | None  # the PrinterFault reason that stopped the drain
    printed_jobs: tuple[tuple[Source, int], ...] = ()
    # The jobs the drain left stored unprinted (none unless the printer faulted). A job
    # another process printed meanwhile is in neither tuple.
    left_jobs: tuple[tuple[Source, int], ...] = ()

    @property
    def printed(self) -> int:
        return len(self.printed_jobs)

    @property
    def pending(self) -> int:
        return len(self.left_jobs)


# Customer copy before merchant copy; anything else after them.
_COPY_RANK = {"customer": 0, "merchant": 1}


class ReceiptSpooler:
    def __init__(
        self, printer: ReceiptPrinter, committer: Committer, clock: Clock, terminal_id: str
    ) -> None:
        self._printer = printer
        self._committer = committer
        self._clock = clock
        self._terminal_id = terminal_id
        # One drain at a time in this process: two would print the same job twice.
        self._lock = asyncio.Lock()
        # The fault that stopped the last drain, while the queue stays stopped: an outage
        # is logged when it starts (or its cause changes) and when it ends, not again at
        # every drain in between (one before and one after each attempt).
        self._stopped_by: str | None = None

    async def drain(self) -> DrainResult:
        """Print every pending job of this terminal in queue order; stop at the first
        printer fault. Each job is marked printed, durably, before the next prints."""
        async with self._lock:
            terminal_id = self._terminal_id
            jobs = await self._committer.read(
                lambda connection: pending_jobs(connection, terminal_id)
            )
            printed: list[tuple[Source, int]] = []
            # The job that came out of the printer last: its printed mark is stored in
            # the unit that starts the next job, so it is durable before the next job
            # goes to the printer, at one unit per job instead of two.
            came_out: PrintJob | None = None
            for position, job in enumerate(jobs):
                stored = await self._committer.run(_starter(job, self._clock.now(), came_out))
                if came_out is not None:
                    printed.append(came_out.key)
                    came_out = None
                if stored is None:
                    continue  # printed since the queue was read (another process)
                name, text, escpos = _what_to_print(job, *stored)
                try:
                    self._printer.print_job(name, escpos, text)
                except PrinterFault as fault:
                    await self._committer.run(_unstarter(job))  # nothing came out
                    left = tuple(waiting.key for waiting in jobs[position:])
                    self._stopped(job, len(left), fault)
                    return DrainResult(fault.reason, tuple(printed), left)
                came_out = job
            if came_out is not None:
                await self._committer.run(_marker(came_out, self._clock.now()))
                printed.append(came_out.key)
            if self._stopped_by is not None:
                log.info(
                    "print queue clear again after %s: %d printed", self._stopped_by, len(printed)
                )
                self._stopped_by = None
            return DrainResult(None, tuple(printed))

    def _stopped(self, job: PrintJob, left: int, fault: PrinterFault) -> None:
        """Log the queue stopped at `job` by `fault`: a warning when the outage starts or
        changes cause, debug while it lasts."""
        level = logging.DEBUG if fault.reason == self._stopped_by else logging.WARNING
        log.log(level, "print queue stopped at %s, %d pending: %s", job.name, left, fault)
        self._stopped_by = fault.reason

    async def pending(self) -> list[PendingPrint]:
        """The jobs still to print, in queue order."""
        terminal_id = self._terminal_id
        jobs = await self._committer.read(lambda connection: pending_jobs(connection, terminal_id))
        return [PendingPrint(job.voucher, job.copy, job.created_at) for job in jobs]


def pending_jobs(connection: Connection, terminal_id: str) -> list[PrintJob]:
    """Every stored, unprinted job of the terminal, in the order the queue prints them:
    reversal-failure slips first, then oldest first, customer copy before merchant."""
    rows = connection.execute(_PENDING, {"terminal_id": terminal_id})
    return sorted((_job(row) for row in rows), key=_queue_order)


def _queue_order(job: PrintJob) -> tuple[Any, ...]:
    first = 0 if job.source is Source.SLIP else 1
    return (first, job.created_at, job.voucher or "", _COPY_RANK.get(job.copy, 2), job.row_id)


# The queue is read before and after every attempt: one statement over the three
# tables, built once, that reads no text and no ESC/POS. Each branch finds the
# terminal's rows by an index, on the receipts (which grow the most) a partial one of
# only the unprinted rows, so the cost follows the queue, not the journal.
_TERMINAL: BindParameter[str] = bindparam("terminal_id")
_PENDING = union_all(
    select(
        literal_column(f"'{Source.RECEIPT.value}'").label("source"),
        terminal_receipt.c.id,
        terminal_journal.c.voucher,
        terminal_receipt.c.copy,
        terminal_receipt.c.reprint_number.label("number"),
        cast(None, String(6)).label("batch"),
        terminal_receipt.c.created_at,
        terminal_receipt.c.print_started_at,
        terminal_receipt.c.print_interruptions,
    )
    .join(terminal_journal, terminal_journal.c.id == terminal_receipt.c.journal_id)
    .where(terminal_receipt.c.terminal_id == _TERMINAL, terminal_receipt.c.printed_at.is_(None)),
    select(
        literal_column(f"'{Source.SLIP.value}'"),
        terminal_slip.c.id,
        terminal_slip.c.voucher,
        terminal_slip.c.kind,
        literal_column("0"),
        cast(None, String(6)),
        terminal_slip.c.created_at,
        terminal_slip.c.print_started_at,
        terminal_slip.c.print_interruptions,
    ).where(terminal_slip.c.terminal_id == _TERMINAL, terminal_slip.c.printed_at.is_(None)),
    select(
        literal_column(f"'{Source.SETTLEMENT.value}'"),
        terminal_settlement.c.id,
        cast(None, String(6)),
        literal_column("'settlement'"),
        literal_column("0"),
        terminal_settlement.c.batch,
        func.coalesce(terminal_settlement.c.settled_at, terminal_settlement.c.updated_at),
        terminal_settlement.c.print_started_at,
        terminal_settlement.c.print_interruptions,
    ).where(
        terminal_settlement.c.terminal_id == _TERMINAL,
        terminal_settlement.c.state == "settled",
        terminal_settlement.c.slip_escpos.is_not(None),
        terminal_settlement.c.printed_at.is_(None),
    ),
)


def _job(row: Row[Any]) -> PrintJob:
    source = Source(row.source)
    return PrintJob(
        source,
        row.id,
        _job_name(source, row),
        row.voucher,
        row.copy,
        row.created_at,
        *_interruption(row),
    )


def _job_name(source: Source, row: Row[Any]) -> str:
    if source is Source.SETTLEMENT:
        return f"settlement-{row.batch}"
    if source is Source.SLIP:
        return f"{row.copy.replace('_', '-')}-{row.voucher or row.id}"
    name = f"{row.voucher}-{row.copy}"
    return name if row.number == 0 else f"{name}-reprint-{row.number}"


_TABLES = {
    Source.SLIP: terminal_slip,
    Source.RECEIPT: terminal_receipt,
    Source.SETTLEMENT: terminal_settlement,
}
# (text, ESC/POS) of a stored job, per table.
_STORED = {
    Source.SLIP: (terminal_slip.c.text, terminal_slip.c.escpos),
    Source.RECEIPT: (terminal_receipt.c.text, terminal_receipt.c.escpos),
    Source.SETTLEMENT: (terminal_settlement.c.slip_text, terminal_settlement.c.slip_escpos),
}
# Marking a job: only while it is unprinted (a job printed already stays as it was).
_MARK_UNPRINTED = {
    source: update(table).where(table.c.id == bindparam("b_id"), table.c.printed_at.is_(None))
    for source, table in _TABLES.items()
}
# Starting a job reads back what to print, in the statement that marks it started.
_START = {
    source: mark.values(
        print_interruptions=_TABLES[source].c.print_interruptions + bindparam("b_cut_off")
    ).returning(*_STORED[source])
    for source, mark in _MARK_UNPRINTED.items()
}


# A printer fault: nothing came out, the job is not started after all.
_UNSTART = {
    source: update(table).where(table.c.id == bindparam("b_id")).values(print_started_at=None)
    for source, table in _TABLES.items()
}


def _interruption(row: Row[Any]) -> tuple[bool, int]:
    """(cut off, copy number) of a stored job's row."""
    cut_off = row.print_started_at is not None
    return cut_off, row.print_interruptions + (1 if cut_off else 0)


def _what_to_print(job: PrintJob, text: str | None, escpos: bytes) -> tuple[str, str, bytes]:
    """(name, text, ESC/POS) the printer gets: the stored job, or its marked copy."""
    text = text or ""
    if job.copy_number == 0:
        return job.name, text, escpos
    text, escpos = interrupted_copy(text, escpos, job.copy_number)
    return f"{job.name}-copy-{job.copy_number}", text, escpos


def _starter(
    job: PrintJob, at: datetime, came_out: PrintJob | None = None
) -> Callable[[Connection], tuple[str | None, bytes] | None]:
    """Mark `came_out` (the job printed just before) printed, then mark the job started
    (a job found cut off counts its interruption first) and read what it prints; None
    when it was printed since the queue was read."""
    cut_off = 1 if job.cut_off else 0
    mark = None if came_out is None else _marker(came_out, at)

    def start(connection: Connection) -> tuple[str | None, bytes] | None:
        if mark is not None:
            mark(connection)
        row = connection.execute(
            _START[job.source], {"b_id": job.row_id, "b_cut_off": cut_off, "print_started_at": at}
        ).first()
        return None if row is None else (row[0], bytes(row[1]))

    return start


def _unstarter(job: PrintJob) -> Callable[[Connection], None]:
    return lambda connection: connection.execute(_UNSTART[job.source], {"b_id": job.row_id}).close()


def _marker(job: PrintJob, at: datetime) -> Callable[[Connection], None]:
    def mark(connection: Connection) -> None:
        connection.execute(_MARK_UNPRINTED[job.source], {"b_id": job.row_id, "printed_at": at})

    return mark
