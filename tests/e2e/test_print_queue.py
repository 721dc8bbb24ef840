"""The print queue: receipts a printer fault left stored are printed when it recovers,
oldest first, customer copy before merchant copy, each original once."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from databases import Database
from nodes import CONFIG, RecordingPrinter, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.terminal.card_read import CardRead
from pospay.terminal.tables import terminal_receipt, terminal_settlement
from pospay.transaction import Method, State

READ = CardRead.for_test_card(TEST_CARDS[0], Method.CARD_CHIP)


async def test_receipts_left_by_a_paper_out_print_before_the_next_sale(
    database: Database, tmp_path: Path
) -> None:
    printer = RecordingPrinter(fault="paper_out")
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer) as terminal:
            assert await terminal.sign_in() == "00"
            first = await terminal.sale(READ, Money(1250, "CNY"))
            assert first.state is State.APPROVED
            assert (first.receipts_printed, first.receipts_pending) == (0, 2)
            pending = await terminal.pending_receipts()
            assert [(p.voucher, p.copy) for p in pending] == [
                (first.voucher, "customer"),
                (first.voucher, "merchant"),
            ]
            assert all(p.created_at is not None for p in pending)

            printer.fault = None  # paper loaded
            second = await terminal.sale(READ, Money(300, "CNY"))
            assert second.state is State.APPROVED
            assert (second.receipts_printed, second.receipts_pending) == (2, 0)
            assert await terminal.pending_receipts() == []
            again = await terminal.print_pending()
            assert (again.printed, again.pending, again.fault) == (0, 0, None)
        # The pending ones first, then the new sale's; customer copy before merchant copy.
        assert printer.names == [
            f"{first.voucher}-customer",
            f"{first.voucher}-merchant",
            f"{second.voucher}-customer",
            f"{second.voucher}-merchant",
        ]
        assert max(Counter(printer.names).values()) == 1  # no original printed twice
        with host.host_engine.connect() as connection:
            marks = connection.execute(
                select(terminal_receipt.c.printed_at).order_by(terminal_receipt.c.id)
            ).scalars()
            marked = list(marks)
        assert len(marked) == 4 and None not in marked
        assert marked == sorted(marked)  # marked in the order they printed
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings


async def test_sign_in_prints_what_is_pending(database: Database, tmp_path: Path) -> None:
    printer = RecordingPrinter(fault="offline")
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer) as terminal:
            await terminal.sign_in()
            outcome = await terminal.sale(READ, Money(700, "CNY"))
        printer.fault = None
        async with terminal_node(database, host, printer) as terminal:
            assert len(await terminal.pending_receipts()) == 2  # durable across a restart
            assert await terminal.sign_in() == "00"
            assert await terminal.pending_receipts() == []
    assert printer.names == [f"{outcome.voucher}-customer", f"{outcome.voucher}-merchant"]


async def test_the_queue_stops_at_the_first_fault(database: Database, tmp_path: Path) -> None:
    printer = RecordingPrinter(fault="paper_out")
    async with (
        host_node(database, tmp_path / "keys") as host,
        terminal_node(database, host, printer) as terminal,
    ):
        await terminal.sign_in()
        first = await terminal.sale(READ, Money(100, "CNY"))
        second = await terminal.sale(READ, Money(200, "CNY"))
        assert len(await terminal.pending_receipts()) == 4
        printer.fault, printer.fail_after, printer.tries = None, 1, 0
        drained = await terminal.print_pending()
        assert (drained.printed, drained.pending, drained.fault) == (1, 3, "paper_out")
        assert printer.tries == 2  # one printed, one refused: the rest not tried
        printer.fail_after = None
        drained = await terminal.print_pending()
        assert (drained.printed, drained.pending) == (3, 0)
    assert printer.names == [
        f"{first.voucher}-customer",
        f"{first.voucher}-merchant",
        f"{second.voucher}-customer",
        f"{second.voucher}-merchant",
    ]


async def test_an_outage_is_logged_when_it_starts_and_when_it_ends(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    printer = RecordingPrinter(fault="paper_out")
    async with (
        host_node(database, tmp_path / "keys") as host,
        terminal_node(database, host, printer) as terminal,
    ):
        await terminal.sign_in()
        with caplog.at_level(logging.DEBUG, logger="pospay.terminal.printing"):
            for amount in (100, 200, 300):
                await terminal.sale(READ, Money(amount, "CNY"))
            printer.fault = "jam"  # a second cause while the queue stays stopped
            await terminal.print_pending()
            await terminal.print_pending()
            printer.fault = None
            drained = await terminal.print_pending()
            assert (drained.printed, drained.pending) == (6, 0)
            await terminal.sale(READ, Money(400, "CNY"))
    records = [r for r in caplog.records if r.name == "pospay.terminal.printing"]
    stops = [r for r in records if "stopped" in r.getMessage()]
    assert len(stops) >= 7  # every drain of the outage hit the fault
    warned = [r.getMessage() for r in stops if r.levelno == logging.WARNING]
    assert len(warned) == 2, warned
    assert warned[0].endswith("2 pending: printer fault: paper_out")
    assert warned[1].endswith("6 pending: printer fault: jam")
    clear = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert clear == ["print queue clear again after jam: 6 printed"]
    assert len(printer.names) == len(set(printer.names)) == 8  # 4 sales x 2 copies, once


class PowerCut(BaseException):
    """The terminal loses power: raised by the printer after the paper came out."""


class PrinterThenPowerCut(RecordingPrinter):
    """Prints the job (the paper comes out), then the terminal dies before it can mark it."""

    def __init__(self) -> None:
        super().__init__()
        self.cut_after_next = True

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        super().print_job(name, escpos, text)
        if self.cut_after_next:
            self.cut_after_next = False
            raise PowerCut(name)


async def test_a_print_cut_off_by_a_crash_is_printed_again_as_a_marked_copy(
    database: Database, tmp_path: Path
) -> None:
    printer = PrinterThenPowerCut()
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer) as terminal:
            assert await terminal.sign_in() == "00"
            with pytest.raises(PowerCut):
                await terminal.sale(READ, Money(1250, "CNY"))
        [(voucher_customer, _, _)] = printer.jobs
        voucher = voucher_customer.removesuffix("-customer")
        async with terminal_node(database, host, printer) as terminal:  # power is back
            assert await terminal.sign_in() == "00"
            assert await terminal.pending_receipts() == []
        # The cut-off customer copy again, marked, then the merchant copy as an original.
        assert printer.names == [
            f"{voucher}-customer",
            f"{voucher}-customer-copy-1",
            f"{voucher}-merchant",
        ]
        copy_text = printer.jobs[1][2]
        assert copy_text.startswith("重打印 REPRINT 1 · 打印中断 PRINT INTERRUPTED\n")
        assert copy_text.endswith(printer.jobs[0][2])  # the stored receipt, unchanged below
        assert "重打印".encode("gb18030") in printer.jobs[1][1]
        with host.host_engine.connect() as connection:
            rows = connection.execute(
                select(
                    terminal_receipt.c.copy,
                    terminal_receipt.c.print_interruptions,
                    terminal_receipt.c.printed_at.is_not(None),
                ).order_by(terminal_receipt.c.id)
            ).all()
        assert sorted(tuple(row) for row in rows) == [("customer", 1, True), ("merchant", 0, True)]
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings  # still one original of each copy


async def test_a_settlement_slip_cut_off_by_a_crash_is_printed_again_as_a_marked_copy(
    database: Database, tmp_path: Path
) -> None:
    printer = PrinterThenPowerCut()
    printer.cut_after_next = False
    config = dataclasses.replace(CONFIG, supervisor_kinds=frozenset())  # no staff needed
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer, config) as terminal:
            assert await terminal.sign_in() == "00"
            assert (await terminal.sale(READ, Money(1250, "CNY"))).approved
            printer.cut_after_next = True  # the slip comes out, then the power goes
            with pytest.raises(PowerCut):
                await terminal.settle()
        async with terminal_node(database, host, printer, config) as terminal:  # power is back
            assert await terminal.sign_in() == "00"
            assert await terminal.pending_receipts() == []
        slips = [name for name in printer.names if name.startswith("settlement-")]
        assert slips == ["settlement-000001", "settlement-000001-copy-1"]
        assert printer.jobs[-1][2].startswith("重打印 REPRINT 1 · 打印中断 PRINT INTERRUPTED\n")
        with host.host_engine.connect() as connection:
            slip = connection.execute(select(terminal_settlement)).one()
        assert (slip.state, slip.print_interruptions, slip.printed_at is not None) == (
            "settled",
            1,
            True,
        )


async def test_a_printer_fault_is_no_interruption(database: Database, tmp_path: Path) -> None:
    printer = RecordingPrinter(fault="jam")
    async with (
        host_node(database, tmp_path / "keys") as host,
        terminal_node(database, host, printer) as terminal,
    ):
        assert await terminal.sign_in() == "00"
        outcome = await terminal.sale(READ, Money(990, "CNY"))
        assert outcome.receipts_pending == 2
        printer.fault = None
        await terminal.print_pending()
    # Nothing came out while jammed, so the originals print as originals.
    assert printer.names == [f"{outcome.voucher}-customer", f"{outcome.voucher}-merchant"]


class PrinterThatAnotherProcessBeats(RecordingPrinter):
    """While it prints its first job, another process of the same terminal prints and
    marks the job after it (what a second drain on the same database does)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.beaten: str | None = None

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        super().print_job(name, escpos, text)
        if self.beaten is None:
            self.beaten = name.replace("-customer", "-merchant")
            with self.engine.begin() as connection:
                connection.execute(
                    update(terminal_receipt)
                    .where(terminal_receipt.c.copy == "merchant")
                    .values(printed_at=datetime.now(UTC))
                )


async def test_a_job_printed_since_the_queue_was_read_is_not_printed_again(
    database: Database, tmp_path: Path
) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        printer = PrinterThatAnotherProcessBeats(host.host_engine)
        async with terminal_node(database, host, printer) as terminal:
            assert await terminal.sign_in() == "00"
            outcome = await terminal.sale(READ, Money(4200, "CNY"))
            # The queue read both copies; the merchant copy was printed elsewhere meanwhile.
            assert (outcome.receipts_printed, outcome.receipts_pending) == (1, 0)
            assert await terminal.pending_receipts() == []
    assert printer.names == [f"{outcome.voucher}-customer"]
    assert printer.beaten == f"{outcome.voucher}-merchant"


class PrinterThatReadsTheMarks(RecordingPrinter):
    """Before each job comes out, reads which receipts are started and not yet printed."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self.unfinished: list[list[int]] = []

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        r = terminal_receipt.c
        with self._engine.connect() as connection:
            started = connection.execute(
                select(r.id).where(r.print_started_at.is_not(None), r.printed_at.is_(None))
            )
            self.unfinished.append([row.id for row in started])
        super().print_job(name, escpos, text)


async def test_each_job_is_marked_printed_before_the_next_goes_to_the_printer(
    database: Database, tmp_path: Path
) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        printer = PrinterThatReadsTheMarks(host.host_engine)
        async with terminal_node(database, host, printer) as terminal:
            assert await terminal.sign_in() == "00"
            await terminal.sale(READ, Money(1250, "CNY"))
            await terminal.sale(READ, Money(3300, "CNY"))
        with host.host_engine.connect() as connection:
            r = terminal_receipt.c
            rows = connection.execute(
                select(r.id, r.printed_at.is_not(None)).order_by(r.created_at, r.id)
            ).all()
    # Two sales, two copies each: every job the printer got was the only one started and
    # not marked printed, so the one before it was marked first; all four end printed.
    assert printer.unfinished == [[row.id] for row in rows]
    assert [printed for _id, printed in rows] == [True] * 4
