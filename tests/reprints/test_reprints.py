"""Controlled reprints on a real terminal against a real host over TCP: authorised by a
supervisor, marked and numbered, signed into the chain, printed through the queue, and
an audit row for every request, granted or refused."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from databases import Database
from nodes import CONFIG, RecordingPrinter, host_node
from pospay.audit import check_agreement
from pospay.clock import SystemClock
from pospay.errors import NotAuthorised, NothingToReprint, OriginalNotFound
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.receipts import ReceiptCopy
from pospay.receipts.chain import export_chain, parse_chain, verify_chain
from pospay.runtime import HostNode
from pospay.storage import GroupCommitter, migrate
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal
from pospay.terminal.link import TcpHostLink
from pospay.terminal.operators import Credentials, Role
from pospay.terminal.receipt_chain import stored_chain
from pospay.terminal.tables import (
    terminal_journal,
    terminal_receipt,
    terminal_reprint_audit,
    terminal_slip,
)
from pospay.transaction import Method, State

READ = CardRead.for_test_card(TEST_CARDS[0], Method.CARD_CHIP)
ADMIN = Credentials("A1", "admin-secret-1")
SUPERVISOR = Credentials("S1", "supervisor-secret-1")
CASHIER = Credentials("C1", "cashier-secret-1")
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Rig:
    terminal: Terminal
    engine: Engine
    printer: RecordingPrinter
    key: Ed25519PrivateKey
    host: HostNode

    def rows(self, table: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(table).order_by(table.c.id)))


@asynccontextmanager
async def rig(
    database: Database, tmp_path: Path, config: TerminalConfig = CONFIG
) -> AsyncIterator[Rig]:
    async with host_node(database, tmp_path / "keys") as host:
        engine = database.engine()
        migrate(engine, "terminal")
        committer = GroupCommitter(engine)
        committer.start()
        link = TcpHostLink("127.0.0.1", host.port)
        printer = RecordingPrinter()
        key = Ed25519PrivateKey.generate()
        terminal = Terminal(
            config,
            committer,
            link,
            SystemClock(),
            printer,
            password_hasher=FAST,
            receipt_key=key,
        )
        try:
            await terminal.open()
            assert await terminal.sign_in() == "00"
            await terminal.operators.add("A1", "Admin", Role.ADMIN, ADMIN.password)
            await terminal.operators.add(
                "S1", "Supervisor", Role.SUPERVISOR, SUPERVISOR.password, by=ADMIN
            )
            await terminal.operators.add("C1", "Cashier", Role.CASHIER, CASHIER.password, by=ADMIN)
            await terminal.log_in(CASHIER)
            yield Rig(terminal, engine, printer, key, host)
        finally:
            await link.close()
            await committer.stop()
            engine.dispose()


def chain_faults(r: Rig) -> list[Any]:
    with r.engine.connect() as connection:
        chain = stored_chain(connection, CONFIG.terminal_id)
    exported = export_chain(CONFIG.terminal_id, chain, r.key, "2026-01-01T00:00:00+00:00")
    return verify_chain(parse_chain(exported), r.key.public_key())


async def test_a_reprint_without_authorisation_is_refused_and_audited(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        sale = await r.terminal.sale(READ, Money(1250, "CNY"))
        assert sale.approved
        printed_before = list(r.printer.names)
        with pytest.raises(NotAuthorised, match="reprint needs a supervisor"):
            await r.terminal.reprint_last()
        with pytest.raises(NotAuthorised, match="C1 is a cashier"):
            await r.terminal.reprint(sale.voucher, supervisor=CASHIER)
        with pytest.raises(NotAuthorised, match="wrong operator id or password"):
            await r.terminal.reprint(sale.voucher, supervisor=Credentials("S1", "not-it-at-all"))
        audit = r.rows(terminal_reprint_audit)
        assert [(a.outcome, a.operator, a.target, a.reference, a.supervisor) for a in audit] == [
            ("refused", "C1", "last", None, None),
            ("refused", "C1", "voucher", sale.voucher, None),
            ("refused", "C1", "voucher", sale.voucher, None),
        ]
        assert "a supervisor's id and password are needed" in audit[0].reason
        assert all(a.requested_at is not None and a.copies is None for a in audit)
        assert "not-it-at-all" not in " ".join(a.reason for a in audit)
        assert [row.reprint_number for row in r.rows(terminal_receipt)] == [0, 0]
        assert r.printer.names == printed_before


async def test_an_authorised_reprint_is_marked_numbered_signed_printed_and_audited(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        sale = await r.terminal.sale(READ, Money(1250, "CNY"))
        other = await r.terminal.sale(READ, Money(300, "CNY"))
        assert sale.approved and other.approved
        journal_before = r.rows(terminal_journal)

        first = await r.terminal.reprint(sale.voucher, supervisor=SUPERVISOR)
        second = await r.terminal.reprint(
            sale.voucher, supervisor=ADMIN, copies=(ReceiptCopy.MERCHANT,)
        )
        last = await r.terminal.reprint_last(supervisor=SUPERVISOR)

        assert first.copies == (("customer", 1), ("merchant", 1))
        assert (first.printed, first.pending, first.supervisor) == (2, 0, "S1")
        assert second.copies == (("merchant", 2),)
        assert last.voucher == other.voucher and last.copies == (("customer", 1), ("merchant", 1))
        assert r.printer.names[4:] == [
            f"{sale.voucher}-customer-reprint-1",
            f"{sale.voucher}-merchant-reprint-1",
            f"{sale.voucher}-merchant-reprint-2",
            f"{other.voucher}-customer-reprint-1",
            f"{other.voucher}-merchant-reprint-1",
        ]
        jobs = {name: (escpos, text) for name, escpos, text in r.printer.jobs}
        original_text = jobs[f"{sale.voucher}-merchant"][1]
        assert "重打印" not in original_text and "REPRINT" not in original_text
        for number in (1, 2):
            escpos, text = jobs[f"{sale.voucher}-merchant-reprint-{number}"]
            assert f"重打印 REPRINT {number}" in text
            assert "重打印".encode("gb18030") in escpos and f"REPRINT {number}".encode() in escpos
            assert "¥12.50" in text and sale.voucher in text

        receipts = r.rows(terminal_receipt)
        assert sorted((row.copy, row.reprint_number) for row in receipts[4:7]) == [
            ("customer", 1),
            ("merchant", 1),
            ("merchant", 2),
        ]
        assert all(row.printed_at is not None for row in receipts)
        assert r.rows(terminal_journal) == journal_before  # the transaction is untouched

        audit = r.rows(terminal_reprint_audit)
        assert [(a.outcome, a.target, a.supervisor, a.copies, a.operator) for a in audit] == [
            ("granted", "voucher", "S1", "customer:1,merchant:1", "C1"),
            ("granted", "voucher", "A1", "merchant:2", "C1"),
            ("granted", "last", "S1", "customer:1,merchant:1", "C1"),
        ]
        assert audit[0].journal_id == audit[1].journal_id != audit[2].journal_id

        assert chain_faults(r) == []
        with r.engine.connect() as connection:
            documents = stored_chain(connection, CONFIG.terminal_id)
        assert [d.document["reprint"] for d in documents] == [0, 0, 0, 0, 1, 1, 2, 1, 1]
        report = check_agreement(r.engine, r.host.host_engine, r.host.issuer_engine)
        assert report.agreement, report.findings


async def test_unknown_voucher_and_nothing_to_reprint_are_refused_and_audited(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        with pytest.raises(NothingToReprint, match="no receipt to reprint"):
            await r.terminal.reprint_last(supervisor=SUPERVISOR)
        with pytest.raises(NothingToReprint, match="no settlement slip to reprint"):
            await r.terminal.reprint_settlement(supervisor=SUPERVISOR)
        declined = await r.terminal.sale(READ, Money(66605, "CNY"))
        assert declined.state is State.DECLINED
        for reference in ("999999", declined.voucher):
            with pytest.raises(
                OriginalNotFound, match=f"no receipt with voucher or RRN '{reference}'"
            ):
                await r.terminal.reprint(reference, supervisor=SUPERVISOR)
        audit = r.rows(terminal_reprint_audit)
        assert [(a.outcome, a.target, a.reference, a.supervisor) for a in audit] == [
            ("refused", "last", None, "S1"),
            ("refused", "settlement", None, "S1"),
            ("refused", "voucher", "999999", "S1"),
            ("refused", "voucher", declined.voucher, "S1"),
        ]
        assert all(a.reason for a in audit)
        assert r.rows(terminal_receipt) == [] and r.rows(terminal_slip) == []


async def test_a_merchant_may_let_cashiers_reprint(database: Database, tmp_path: Path) -> None:
    config = dataclasses.replace(CONFIG, reprint_needs_supervisor=False)
    async with rig(database, tmp_path, config) as r:
        sale = await r.terminal.sale(READ, Money(700, "CNY"))
        done = await r.terminal.reprint(sale.voucher, copies=(ReceiptCopy.CUSTOMER,))
        assert done.copies == (("customer", 1),) and done.supervisor is None
        [audit] = r.rows(terminal_reprint_audit)
        assert (audit.outcome, audit.supervisor, audit.operator) == ("granted", None, "C1")


async def test_a_reprint_waits_in_the_queue_while_the_printer_is_down(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        sale = await r.terminal.sale(READ, Money(1250, "CNY"))
        r.printer.fault = "paper_out"
        done = await r.terminal.reprint(sale.voucher, supervisor=SUPERVISOR)
        assert (done.printed, done.pending, done.fault) == (0, 2, "paper_out")
        pending = await r.terminal.pending_receipts()
        assert [(p.voucher, p.copy) for p in pending] == [
            (sale.voucher, "customer"),
            (sale.voucher, "merchant"),
        ]
        r.printer.fault = None
        assert (await r.terminal.print_pending()).printed == 2
        assert r.printer.names[-2:] == [
            f"{sale.voucher}-customer-reprint-1",
            f"{sale.voucher}-merchant-reprint-1",
        ]


async def test_the_last_settlement_slip_is_reprinted_marked(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        assert (await r.terminal.sale(READ, Money(1250, "CNY"))).approved
        settled = await r.terminal.settle(SUPERVISOR)
        assert settled.settled
        first = await r.terminal.reprint_settlement(supervisor=SUPERVISOR)
        second = await r.terminal.reprint_settlement(supervisor=SUPERVISOR)
        assert (first.batch, first.copies, first.printed) == (
            settled.batch,
            (("settlement", 1),),
            1,
        )
        assert second.copies == (("settlement", 2),)
        slips = r.rows(terminal_slip)
        assert [s.kind for s in slips] == ["settlement_reprint", "settlement_reprint"]
        assert all(s.printed_at is not None for s in slips)
        names = r.printer.names
        original = next(job for job in r.printer.jobs if job[0] == f"settlement-{settled.batch}")
        copy = next(job for job in r.printer.jobs if job[0] == f"settlement-reprint-{slips[0].id}")
        assert names.index(original[0]) < names.index(copy[0])
        assert copy[2].splitlines()[0].strip() == "重打印 REPRINT 1"
        assert copy[2].endswith(original[2]) and "重打印" not in original[2]
        assert copy[1].endswith(original[1][4:]) and "重打印".encode("gb18030") in copy[1]
        audit = r.rows(terminal_reprint_audit)
        assert [(a.outcome, a.batch, a.copies, a.slip_id) for a in audit] == [
            ("granted", settled.batch, "settlement:1", slips[0].id),
            ("granted", settled.batch, "settlement:2", slips[1].id),
        ]


async def test_the_auditor_counts_one_original_after_reprints_of_a_voided_sale(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        sale = await r.terminal.sale(READ, Money(1250, "CNY"))
        void = await r.terminal.void(sale.voucher, supervisor=SUPERVISOR)
        assert void.approved
        before = r.rows(terminal_journal)
        again = await r.terminal.reprint(sale.voucher, supervisor=SUPERVISOR)
        assert again.voucher == sale.voucher
        assert r.rows(terminal_journal) == before
        texts = [text for name, _, text in r.printer.jobs if "reprint" in name]
        assert len(texts) == 2 and all("消费 SALE" in text for text in texts)
        report = check_agreement(r.engine, r.host.host_engine, r.host.issuer_engine)
        assert report.agreement, report.findings
