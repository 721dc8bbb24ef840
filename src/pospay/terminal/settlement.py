"""The terminal's end of day: total the batch, settle it with the host, print the slip.

Order of work, each step durable before the next:

1. total the current batch from the terminal journal (`pospay.settlement` rules) and
   record the settlement of that batch (`terminal_settlement`, state ``open``);
2. send the 0500 (processing code 920000) with the totals in field 63;
3. on 95 (the host counts differently) record the state ``uploading``, send one 0320
   per counted attempt of the batch, then the 0500 again with processing code 960000;
4. on 00, in one unit: the batch's counted approved attempts become SETTLED, the slip
   is stored, the settlement is ``settled`` and the batch number advances;
5. print the stored slip through the print queue (`terminal.printing`), which marks it
   started before the printer gets it: a printer fault leaves it stored, unprinted, and
   a crash during the print makes the next drain print a marked copy, never a second
   original.

A failure (no answer, another response code) changes nothing that step 4 would: the
batch stays open with its number, and settling again repeats the work safely (the
host answers a batch it settled already with its stored answer, and records each
uploaded attempt once). A settlement interrupted while uploading resumes at step 3.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from pospay.clock import Clock
from pospay.errors import OutcomeUnknown
from pospay.iso8583 import Message, describe
from pospay.iso8583.fields import amount_field, transmission_field
from pospay.iso8583.messages import (
    PROCESSING_CODES,
    REQUEST_MTI,
    SETTLEMENT_AFTER_UPLOAD_CODE,
    SETTLEMENT_CODE,
    original_data_field,
)
from pospay.money import currency_numeric
from pospay.receipts import PAPERS
from pospay.receipts.settlement import SettlementSlipData, render_settlement
from pospay.settlement import (
    BatchTotals,
    by_kind,
    counted,
    read_totals_field,
    totals_field,
    totals_of,
)
from pospay.storage import Committer
from pospay.storage.transitions import transition
from pospay.terminal import journal
from pospay.terminal.config import TerminalConfig
from pospay.terminal.link import HostLink
from pospay.terminal.printing import ReceiptSpooler, Source
from pospay.terminal.tables import terminal_journal, terminal_settlement, terminal_state
from pospay.transaction import Event, Kind, State

log = logging.getLogger(__name__)

BALANCED = "00"
RECONCILE_ERROR = "95"


@dataclass(frozen=True, slots=True)
class SettlementOutcome:
    """What the operator is told about one settlement."""

    batch: str
    settled: bool
    response_code: str
    message_zh: str
    message_en: str
    totals: BatchTotals
    host_totals: BatchTotals | None
    balanced_first_time: bool
    uploaded: int
    attempts_settled: int
    next_batch: str
    slip_printed: bool


class BatchSettlement:
    """Settles the terminal's current batch. Storage, link, clock and print queue injected."""

    def __init__(
        self,
        config: TerminalConfig,
        committer: Committer,
        link: HostLink,
        clock: Clock,
        spooler: ReceiptSpooler,
    ) -> None:
        self._config = config
        self._committer = committer
        self._link = link
        self._clock = clock
        self._spooler = spooler

    async def run(self, operator: str, supervisor: str | None) -> SettlementOutcome:
        config = self._config
        now = self._clock.now()

        def open_batch(connection: Connection) -> tuple[Row[Any], BatchTotals]:
            batch = journal.current_batch(connection, config.terminal_id)
            totals = _totals(_batch_rows(connection, config.terminal_id, batch))
            row = _settlement(connection, config.terminal_id, batch)
            values = {
                "operator": operator,
                "supervisor": supervisor,
                "debit_count": totals.debit_count,
                "debit_minor": totals.debit_minor,
                "credit_count": totals.credit_count,
                "credit_minor": totals.credit_minor,
                "updated_at": now,
            }
            if row is None:
                connection.execute(
                    insert(terminal_settlement).values(
                        terminal_id=config.terminal_id,
                        batch=batch,
                        state="open",
                        currency=config.currency,
                        after_upload=False,
                        uploaded=0,
                        created_at=now,
                        **values,
                    )
                )
            else:
                connection.execute(
                    update(terminal_settlement)
                    .where(terminal_settlement.c.id == row.id)
                    .values(**values)
                )
            return _settlement_or_fail(connection, config.terminal_id, batch), totals

        row, totals = await self._committer.run(open_batch)
        batch = row.batch
        log.info(
            "settling batch %s: %d debits %d, %d credits %d",
            batch,
            totals.debit_count,
            totals.debit_minor,
            totals.credit_count,
            totals.credit_minor,
        )
        if row.state == "uploading":
            log.info("settlement of batch %s resumes its batch upload", batch)
            response = None
        else:
            response = await self._settle_request(batch, totals, SETTLEMENT_CODE)
            code = response.get("39", "96")
            if code != RECONCILE_ERROR:
                return await self._conclude(row.id, batch, totals, response, first_time=True)
            await self._committer.run(self._mark_uploading(row.id, response))
            log.warning("batch %s does not balance with the host: batch upload", batch)
        uploaded = await self._upload(batch)
        await self._committer.run(self._count_uploaded(row.id, uploaded))
        response = await self._settle_request(batch, totals, SETTLEMENT_AFTER_UPLOAD_CODE)
        return await self._conclude(row.id, batch, totals, response, first_time=False)

    async def _settle_request(self, batch: str, totals: BatchTotals, code: str) -> Message:
        config = self._config
        stan = await self._committer.run(
            lambda connection: journal.next_stan(connection, config.terminal_id)
        )
        response = await self._link.exchange(
            {
                "t": "0500",
                "3": code,
                "7": transmission_field(self._clock.now()),
                "11": stan,
                "41": config.terminal_id,
                "42": config.merchant_id,
                "49": currency_numeric(config.currency),
                "60": batch,
                "63": totals_field(totals),
            },
            timeout=config.response_timeout,
        )
        if response.get("t") != "0510" or response.get("11") != stan:
            raise OutcomeUnknown(f"unexpected answer to the settlement: {response.get('t')}")
        return response

    async def _upload(self, batch: str) -> int:
        """Send one 0320 per counted attempt of the batch; returns how many went."""
        config = self._config
        rows = await self._committer.read(
            lambda connection: [
                row
                for row in _batch_rows(connection, config.terminal_id, batch)
                if counted(row.kind, row.state)
            ]
        )
        for index, row in enumerate(rows, start=1):
            stan = await self._committer.run(
                lambda connection: journal.next_stan(connection, config.terminal_id)
            )
            kind = Kind(row.kind)
            request: Message = {
                "t": "0320",
                "3": PROCESSING_CODES[kind],
                "4": amount_field(row.amount_minor),
                "7": transmission_field(self._clock.now()),
                "11": stan,
                "41": config.terminal_id,
                "42": config.merchant_id,
                "49": currency_numeric(row.currency),
                "60": batch,
                "90": original_data_field(
                    REQUEST_MTI.get(kind, "0200"), row.stan, row.transmission_at
                ),
            }
            if row.rrn:
                request["37"] = row.rrn
            response = await self._link.exchange(request, timeout=config.response_timeout)
            if response.get("t") != "0330" or response.get("39") != BALANCED:
                raise OutcomeUnknown(
                    f"batch upload of STAN {row.stan} answered {response.get('39')}"
                )
            if index % 50 == 0 or index == len(rows):
                log.info("batch %s upload: %d of %d sent", batch, index, len(rows))
        return len(rows)

    async def _conclude(
        self,
        settlement_id: int,
        batch: str,
        totals: BatchTotals,
        response: Message,
        *,
        first_time: bool,
    ) -> SettlementOutcome:
        code = response.get("39", "96")
        host_totals = read_totals_field(response["63"]) if "63" in response else None
        entry = describe(code)
        if code != BALANCED:
            now = self._clock.now()
            await self._committer.run(
                lambda connection: connection.execute(
                    update(terminal_settlement)
                    .where(terminal_settlement.c.id == settlement_id)
                    .values(response_code=code, host_totals=response.get("63"), updated_at=now)
                )
            )
            log.warning("settlement of batch %s refused: %s %s", batch, code, entry.meaning)
            return SettlementOutcome(
                batch=batch,
                settled=False,
                response_code=code,
                message_zh=entry.operator_zh,
                message_en=entry.operator_en,
                totals=totals,
                host_totals=host_totals,
                balanced_first_time=False,
                uploaded=0,
                attempts_settled=0,
                next_batch=batch,
                slip_printed=False,
            )
        settled, next_batch = await self._committer.run(
            self._settle_batch(settlement_id, batch, response.get("63"), first_time)
        )
        drained = await self._spooler.drain()
        printed = (Source.SETTLEMENT, settlement_id) in drained.printed_jobs
        if not printed:
            log.warning("settlement slip of batch %s stays stored, unprinted", batch)
        log.info("batch %s settled (%d attempts); next batch %s", batch, settled, next_batch)
        done = await self._committer.read(
            lambda connection: connection.execute(
                select(terminal_settlement).where(terminal_settlement.c.id == settlement_id)
            ).one()
        )
        message_zh, message_en = ("结算成功，对账平", "Settled, balanced")
        if not first_time:
            message_zh, message_en = ("结算成功，批上送后对账平", "Settled after batch upload")
        return SettlementOutcome(
            batch=batch,
            settled=True,
            response_code=code,
            message_zh=message_zh,
            message_en=message_en,
            totals=totals,
            host_totals=host_totals,
            balanced_first_time=first_time,
            uploaded=done.uploaded,
            attempts_settled=settled,
            next_batch=next_batch,
            slip_printed=printed,
        )

    def _settle_batch(
        self, settlement_id: int, batch: str, host_totals: str | None, first_time: bool
    ) -> Any:
        config = self._config
        now = self._clock.now()

        def work(connection: Connection) -> tuple[int, str]:
            rows = _batch_rows(connection, config.terminal_id, batch)
            settled = 0
            for row in rows:
                if State(row.state) is State.APPROVED and counted(row.kind, row.state):
                    transition(connection, terminal_journal, row.id, Event.SETTLE, now)
                    settled += 1
            stored = _settlement_or_fail(connection, config.terminal_id, batch)
            slip = render_settlement(
                SettlementSlipData(
                    merchant_name=config.merchant_name,
                    merchant_id=config.merchant_id,
                    terminal_id=config.terminal_id,
                    operator=stored.operator,
                    supervisor=stored.supervisor,
                    batch=batch,
                    at=now,
                    currency=stored.currency,
                    by_kind=tuple(by_kind((r.kind, r.state, r.amount_minor) for r in rows)),
                    totals=BatchTotals(
                        stored.debit_count,
                        stored.debit_minor,
                        stored.credit_count,
                        stored.credit_minor,
                    ),
                    balanced_first_time=first_time,
                    uploaded=stored.uploaded,
                ),
                PAPERS[f"{config.paper_mm}mm"],
            )
            connection.execute(
                update(terminal_settlement)
                .where(terminal_settlement.c.id == settlement_id)
                .values(
                    state="settled",
                    response_code=BALANCED,
                    host_totals=host_totals,
                    after_upload=not first_time,
                    slip_text=slip[0],
                    slip_escpos=slip[1],
                    settled_at=now,
                    updated_at=now,
                )
            )
            # The batch closes in the same unit that settles it: a restart finds the next one.
            connection.execute(
                update(terminal_state)
                .where(terminal_state.c.terminal_id == config.terminal_id)
                .values(batch=terminal_state.c.batch % 999_999 + 1)
            )
            return settled, journal.current_batch(connection, config.terminal_id)

        return work

    def _mark_uploading(self, settlement_id: int, response: Message) -> Any:
        now = self._clock.now()

        def work(connection: Connection) -> None:
            connection.execute(
                update(terminal_settlement)
                .where(terminal_settlement.c.id == settlement_id)
                .values(
                    state="uploading",
                    response_code=response.get("39"),
                    host_totals=response.get("63"),
                    after_upload=True,
                    updated_at=now,
                )
            )

        return work

    def _count_uploaded(self, settlement_id: int, uploaded: int) -> Any:
        now = self._clock.now()

        def work(connection: Connection) -> None:
            connection.execute(
                update(terminal_settlement)
                .where(terminal_settlement.c.id == settlement_id)
                .values(uploaded=uploaded, updated_at=now)
            )

        return work


def settlements(connection: Connection, terminal_id: str) -> list[Row[Any]]:
    """The terminal's settlement records, oldest batch first."""
    return list(
        connection.execute(
            select(terminal_settlement)
            .where(terminal_settlement.c.terminal_id == terminal_id)
            .order_by(terminal_settlement.c.id)
        )
    )


def _totals(rows: list[Row[Any]]) -> BatchTotals:
    return totals_of((row.kind, row.state, row.amount_minor) for row in rows)


def _batch_rows(connection: Connection, terminal_id: str, batch: str) -> list[Row[Any]]:
    return list(
        connection.execute(
            select(terminal_journal)
            .where(terminal_journal.c.terminal_id == terminal_id, terminal_journal.c.batch == batch)
            .order_by(terminal_journal.c.id)
        )
    )


def _settlement(connection: Connection, terminal_id: str, batch: str) -> Row[Any] | None:
    return connection.execute(
        select(terminal_settlement).where(
            terminal_settlement.c.terminal_id == terminal_id, terminal_settlement.c.batch == batch
        )
    ).first()


def _settlement_or_fail(connection: Connection, terminal_id: str, batch: str) -> Row[Any]:
    row = _settlement(connection, terminal_id, batch)
    assert row is not None, "the settlement row is created before it is read"
    return row
