"""A card sale end to end: terminal engine -> ISO 8583/TCP -> host -> issuer, and back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from databases import Database
from nodes import CONFIG, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.emv import SimulatedCard, TerminalData
from pospay.errors import PrinterFault
from pospay.host.tables import host_journal
from pospay.iso8583 import decode, encode, read_frame, write_frame
from pospay.iso8583.fields import amount_field, transmission_field
from pospay.issuer.ledger import approved_movements
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.printer import DirectoryPrinter
from pospay.security.keys import decrypt_under
from pospay.security.mac import with_mac
from pospay.terminal.card_read import CardRead
from pospay.terminal.tables import terminal_key
from pospay.transaction import Method, State

CARD = TEST_CARDS[0]


def card(method: Method = Method.CARD_CHIP) -> CardRead:
    return CardRead.for_test_card(CARD, method)


async def test_approved_sale_is_recorded_everywhere_and_printed(
    database: Database, tmp_path: Path
) -> None:
    printer = DirectoryPrinter(tmp_path / "receipts")
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer) as terminal:
            assert await terminal.sign_in() == "00"
            outcome = await terminal.sale(card(), Money(1250, "CNY"))
        assert outcome.state is State.APPROVED
        assert outcome.response_code == "00"
        assert outcome.auth_code and len(outcome.auth_code) == 6
        assert outcome.receipts_printed == 2 and outcome.receipts_pending == 0
        assert sorted(printer.jobs) == [
            f"{outcome.voucher}-customer",
            f"{outcome.voucher}-merchant",
        ]
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings
        assert report.attempts == 1 and report.issuer_movements == 1
        with host.issuer_engine.connect() as connection:
            assert approved_movements(connection)[outcome.rrn or ""] == Money(1250, "CNY")


async def test_decline_moves_no_money_and_prints_nothing(
    database: Database, tmp_path: Path
) -> None:
    printer = DirectoryPrinter(tmp_path / "receipts")
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer) as terminal:
            await terminal.sign_in()
            outcome = await terminal.sale(card(), Money(66605, "CNY"))
            inquiry = await terminal.balance_inquiry(card())
        assert outcome.state is State.DECLINED and outcome.response_code == "05"
        assert (outcome.message_zh, outcome.message_en) == ("不予承兑", "Do not honour")
        assert printer.jobs == []
        assert inquiry.balance == CARD.opening_balance
        with host.issuer_engine.connect() as connection:
            assert approved_movements(connection) == {}
        assert check_agreement(host.host_engine, host.host_engine, host.issuer_engine).agreement


async def test_balance_inquiry_sees_the_sale(database: Database, tmp_path: Path) -> None:
    async with (
        host_node(database, tmp_path / "keys") as host,
        terminal_node(database, host, DirectoryPrinter(tmp_path / "r")) as terminal,
    ):
        await terminal.sign_in()
        before = await terminal.balance_inquiry(card(Method.CARD_CONTACTLESS))
        await terminal.sale(card(Method.CARD_MAGSTRIPE), Money(9_999, "CNY"))
        after = await terminal.balance_inquiry(card())
    assert before.balance is not None and after.balance is not None
    assert before.balance - after.balance == Money(9_999, "CNY")


async def test_numbers_survive_a_restart(database: Database, tmp_path: Path) -> None:
    printer = DirectoryPrinter(tmp_path / "receipts")
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer) as terminal:
            await terminal.sign_in()
            first = await terminal.sale(card(), Money(100, "CNY"))
        async with terminal_node(database, host, printer) as terminal:
            await terminal.sign_in()
            second = await terminal.sale(card(), Money(100, "CNY"))
    assert int(second.voucher) == int(first.voucher) + 1
    assert int(second.stan) == int(first.stan) + 2  # the second sign-in took one STAN


async def test_a_terminal_that_has_not_signed_in_is_refused(
    database: Database, tmp_path: Path
) -> None:
    async with (
        host_node(database, tmp_path / "keys") as host,
        terminal_node(database, host, DirectoryPrinter(tmp_path / "r")) as terminal,
    ):
        outcome = await terminal.sale(card(), Money(100, "CNY"))
        # Refused before it could be authenticated: not journaled, in the refusal log,
        # and the auditor agrees with the terminal's decline.
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement and report.host_rows == 0, report.findings
    assert outcome.response_code == "58" and outcome.state is State.DECLINED


class BrokenPrinter:
    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        raise PrinterFault("paper_out")


async def test_a_printer_fault_never_undoes_an_approval(database: Database, tmp_path: Path) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, BrokenPrinter()) as terminal:
            await terminal.sign_in()
            outcome = await terminal.sale(card(), Money(700, "CNY"))
        assert outcome.state is State.APPROVED
        assert outcome.receipts_printed == 0 and outcome.receipts_pending == 2
        # The receipts are stored, so the auditor finds exactly one original of each copy.
        assert check_agreement(host.host_engine, host.host_engine, host.issuer_engine).agreement


async def test_duplicate_transmission_replays_the_stored_response(
    database: Database, tmp_path: Path
) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, DirectoryPrinter(tmp_path / "r")) as terminal:
            assert await terminal.sign_in() == "00"
        now = datetime.now(UTC)
        chip = SimulatedCard(CARD.pan, CARD.psn)
        icc = chip.generate_ac(TerminalData(4321, "156", "156", now, bytes(4)))
        request = {
            "t": "0200",
            "2": CARD.pan,
            "3": "000000",
            "4": amount_field(4321),
            "7": transmission_field(datetime.now(UTC)),
            "11": "424242",
            "12": "101010",
            "13": "1126",
            "14": CARD.expiry,
            "22": "051",
            "23": f"0{CARD.psn}",
            "25": "00",
            "41": CONFIG.terminal_id,
            "42": CONFIG.merchant_id,
            "49": "156",
            "55": icc.field_55().hex().upper(),
            "60": "000001",
        }
        # The terminal's MAC key of that sign-in (same database as the host's, here).
        with host.host_engine.connect() as connection:
            stored = connection.execute(select(terminal_key.c.mac_key_under_tmk)).scalar_one()
        request = with_mac(request, decrypt_under(CONFIG.master_key, stored))
        reader, writer = await asyncio.open_connection("127.0.0.1", host.port)
        answers = []
        for _ in range(3):
            await write_frame(writer, encode(request))
            answers.append(await read_frame(reader))
        writer.close()
        await writer.wait_closed()
        assert answers[0] == answers[1] == answers[2]
        assert answers[0] is not None and decode(answers[0])["39"] == "00"
        with host.issuer_engine.connect() as connection:
            assert list(approved_movements(connection).values()) == [Money(4321, "CNY")]
        with host.host_engine.connect() as connection:
            assert (
                connection.execute(select(func.count()).select_from(host_journal)).scalar_one() == 1
            )
            # The journal says why nothing more happened: two replays, each answered 00.
            row = connection.execute(select(host_journal)).one()
            assert (row.replays, row.last_replay_code) == (2, "00")
            assert row.last_replay_at is not None
