"""The durable print queue on a network printer: a fault the printer reports keeps the
receipts pending; once cleared they print, each original once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from databases import Database
from nodes import host_node, terminal_node
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.printer import NetworkPrinter, VirtualPrinter
from pospay.terminal.card_read import CardRead
from pospay.transaction import Method, State

READ = CardRead.for_test_card(TEST_CARDS[0], Method.CARD_CHIP)


@pytest.mark.parametrize("fault", ["paper_out", "cover_open", "jam", "offline", "unreachable"])
async def test_a_faulted_printer_keeps_receipts_pending_until_it_is_cleared(
    database: Database, tmp_path: Path, fault: str
) -> None:
    first = virtual = VirtualPrinter(tmp_path / "paper", dots=384)
    async with (
        first,
        host_node(database, tmp_path / "keys") as host,
        terminal_node(database, host, NetworkPrinter("127.0.0.1", first.port)) as terminal,
    ):
        assert await terminal.sign_in() == "00"
        if fault == "unreachable":
            await asyncio.to_thread(first.stop)  # the printer is switched off
        else:
            first.set_fault(fault)
        sale = await terminal.sale(READ, Money(1250, "CNY"))
        assert sale.state is State.APPROVED
        assert (sale.receipts_printed, sale.receipts_pending) == (0, 2)
        drained = await terminal.print_pending()
        assert (drained.printed, drained.pending, drained.fault) == (0, 2, fault)
        assert first.printed == []

        if fault == "unreachable":  # switched on again, at the same address
            virtual = VirtualPrinter(tmp_path / "paper", dots=384, port=first.port)
            await asyncio.to_thread(virtual.start)
        else:
            first.clear_fault()
        try:
            drained = await terminal.print_pending()
            assert (drained.printed, drained.pending, drained.fault) == (2, 0, None)
            assert await terminal.pending_receipts() == []
            again = await terminal.print_pending()
            assert (again.printed, again.pending) == (0, 0)
        finally:
            await asyncio.to_thread(virtual.stop)
    texts = [job.text for job in virtual.jobs]
    assert len(texts) == 2  # customer copy, then merchant copy; nothing twice
    assert all(f"{sale.voucher}" in text for text in texts)
    assert "持卡人存根" in texts[0] and "商户存根" in texts[1]
    assert virtual.refused == 0
