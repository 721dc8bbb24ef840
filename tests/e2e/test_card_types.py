"""Every card transaction type end to end: terminal engine -> ISO 8583/TCP -> host ->
issuer ledger, and back to the terminal journal and its receipts.

Each test ends with the auditor's three-way agreement and exact issuer balances.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, select

from databases import Database
from nodes import CONFIG, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.cards import pan_reference
from pospay.emv import SimulatedCard
from pospay.errors import OriginalNotFound
from pospay.host.tables import host_journal
from pospay.iso8583.fields import amount_field, transmission_field
from pospay.iso8583.messages import original_data_field
from pospay.issuer.card_file import card_account_id
from pospay.issuer.follow_ups import HOLDS_ACCOUNT
from pospay.issuer.ledger import approved_movements, balance
from pospay.issuer.test_cards import TEST_CARDS, UNKNOWN_CARD_PAN, find_card
from pospay.money import Money
from pospay.printer import DirectoryPrinter
from pospay.runtime import HostNode, load_or_create_key
from pospay.terminal.card_read import CardRead
from pospay.terminal.engine import Terminal
from pospay.terminal.tables import terminal_journal, terminal_receipt
from pospay.transaction import Kind, Method, State

RICH, OTHER = TEST_CARDS[0], TEST_CARDS[1]
# The supervisor policy is the operators' business; here the cashier may do everything.
OPEN_CONFIG = dataclasses.replace(CONFIG, supervisor_kinds=frozenset())
OTHER_TERMINAL = dataclasses.replace(OPEN_CONFIG, terminal_id="20000002")


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


def card(pan: str = RICH.pan, expiry: str = RICH.expiry) -> CardRead:
    """A chip read of `pan`; the expiry may differ from the card's, as a test needs."""
    known = find_card(pan)
    psn = known.psn if known is not None else "01"
    return CardRead(pan, expiry, Method.CARD_CHIP, f"0{psn}", icc=SimulatedCard(pan, psn))


@dataclasses.dataclass
class Bench:
    host: HostNode
    terminal: Terminal
    printer: DirectoryPrinter
    key_dir: Path

    def card_balance(self, pan: str) -> Money:
        key = load_or_create_key(self.key_dir / "issuer-pan.key")
        with self.host.issuer_engine.connect() as connection:
            return balance(connection, card_account_id(pan_reference(pan, key)))

    def holds(self) -> Money:
        with self.host.issuer_engine.connect() as connection:
            return balance(connection, HOLDS_ACCOUNT)

    def movements(self) -> dict[str, Money]:
        with self.host.issuer_engine.connect() as connection:
            return approved_movements(connection)

    def host_row(self, rrn: str | None) -> Row[Any]:
        with self.host.host_engine.connect() as connection:
            return connection.execute(select(host_journal).where(host_journal.c.rrn == rrn)).one()

    def terminal_state(self, attempt_id: int) -> State:
        with self.host.host_engine.connect() as connection:
            return State(
                connection.execute(
                    select(terminal_journal.c.state).where(terminal_journal.c.id == attempt_id)
                ).scalar_one()
            )

    def receipt_text(self, attempt_id: int, copy: str) -> str:
        with self.host.host_engine.connect() as connection:
            return str(
                connection.execute(
                    select(terminal_receipt.c.text).where(
                        terminal_receipt.c.journal_id == attempt_id,
                        terminal_receipt.c.copy == copy,
                    )
                ).scalar_one()
            )

    def assert_agreement(self) -> None:
        engine = self.host.host_engine
        report = check_agreement(engine, engine, self.host.issuer_engine)
        assert report.agreement, report.findings


@asynccontextmanager
async def bench(database: Database, tmp_path: Path) -> AsyncIterator[Bench]:
    printer = DirectoryPrinter(tmp_path / "receipts")
    key_dir = tmp_path / "keys"
    async with (
        host_node(database, key_dir) as host,
        terminal_node(database, host, printer, OPEN_CONFIG) as terminal,
    ):
        assert await terminal.sign_in() == "00"
        yield Bench(host, terminal, printer, key_dir)


async def test_void_undoes_the_sale_once(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        sale = await b.terminal.sale(card(), cny(12_50))
        void = await b.terminal.void(sale.voucher)
        assert void.state is State.APPROVED and void.response_code == "00"
        assert void.receipts_printed == 2
        assert "撤销" in b.receipt_text(void.attempt_id, "merchant")
        assert b.terminal_state(sale.attempt_id) is State.VOIDED
        assert State(b.host_row(sale.rrn).state) is State.VOIDED
        assert b.host_row(void.rrn).original_id == b.host_row(sale.rrn).id
        assert b.card_balance(RICH.pan) == RICH.opening_balance
        assert b.movements() == {}

        again = await b.terminal.void(sale.voucher)
        assert again.state is State.DECLINED and again.response_code == "12"
        assert "voided" in b.host_row(again.rrn).reason
        assert again.receipts_printed == 0
        assert b.card_balance(RICH.pan) == RICH.opening_balance
        b.assert_agreement()


async def test_void_from_another_terminal_is_refused(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        sale = await b.terminal.sale(card(), cny(500))
        async with terminal_node(
            database, b.host, DirectoryPrinter(tmp_path / "other"), OTHER_TERMINAL
        ) as other:
            assert await other.sign_in() == "00"
            # The other terminal's journal does not hold the sale: nothing is sent.
            with pytest.raises(OriginalNotFound):
                await other.void(sale.voucher)
            # Named by its RRN on the link, the host refuses it all the same.
            now = datetime.now(UTC)
            answer = await b.host.service.handle(
                {
                    "t": "0200",
                    "3": "200000",
                    "4": amount_field(500),
                    "7": transmission_field(now),
                    "11": "000777",
                    "12": "101010",
                    "13": "1126",
                    "25": "00",
                    "37": sale.rrn or "",
                    "41": OTHER_TERMINAL.terminal_id,
                    "42": OTHER_TERMINAL.merchant_id,
                    "49": "156",
                    "60": "000001",
                }
            )
        assert answer is not None and answer["39"] == "12"
        assert "terminal of the sale" in b.host_row(answer["37"]).reason
        assert State(b.host_row(sale.rrn).state) is State.APPROVED
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(500)


async def test_refunds_add_up_to_the_sale_and_no_further(
    database: Database, tmp_path: Path
) -> None:
    async with bench(database, tmp_path) as b:
        sale = await b.terminal.sale(card(), cny(100_00))
        first = await b.terminal.refund(sale.voucher, cny(30_00))
        assert first.state is State.APPROVED and first.receipts_printed == 2
        assert b.terminal_state(sale.attempt_id) is State.APPROVED
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(70_00)

        over = await b.terminal.refund(sale.rrn or "", cny(70_01))
        assert over.state is State.DECLINED and over.response_code == "13"
        assert "above" in b.host_row(over.rrn).reason
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(70_00)

        rest = await b.terminal.refund(sale.voucher, cny(70_00))
        assert rest.state is State.APPROVED
        assert b.terminal_state(sale.attempt_id) is State.REFUNDED
        assert State(b.host_row(sale.rrn).state) is State.REFUNDED
        assert b.card_balance(RICH.pan) == RICH.opening_balance
        assert b.movements() == {
            sale.rrn: cny(100_00),
            first.rrn: cny(-30_00),
            rest.rrn: cny(-70_00),
        }

        after = await b.terminal.refund(sale.voucher, cny(1))
        assert after.state is State.DECLINED and after.response_code == "12"
        b.assert_agreement()


async def test_refund_above_the_sale_is_refused(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        sale = await b.terminal.sale(card(), cny(10_00))
        over = await b.terminal.refund(sale.voucher, cny(10_01))
        assert over.response_code == "13" and over.state is State.DECLINED
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(10_00)
        b.assert_agreement()


async def test_preauth_holds_and_completion_charges(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        hold = await b.terminal.preauth(card(), cny(200_00))
        assert hold.state is State.APPROVED and hold.receipts_printed == 2
        assert hold.balance == RICH.opening_balance - cny(200_00)
        assert b.holds() == cny(200_00)
        inquiry = await b.terminal.balance_inquiry(card())
        assert inquiry.balance == RICH.opening_balance - cny(200_00)

        # 15% above the hold is the most a completion may take.
        over = await b.terminal.complete(hold.voucher, cny(230_01))
        assert over.state is State.DECLINED and over.response_code == "61"
        assert "above" in b.host_row(over.rrn).reason
        assert b.holds() == cny(200_00)

        done = await b.terminal.complete(hold.voucher, cny(230_00))
        assert done.state is State.APPROVED and done.receipts_printed == 2
        assert b.holds() == cny(0)
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(230_00)
        assert b.movements() == {done.rrn: cny(230_00)}

        twice = await b.terminal.complete(hold.voucher, cny(1_00))
        assert twice.response_code == "12"
        cancel = await b.terminal.cancel_preauth(hold.voucher)
        assert cancel.response_code == "12"
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(230_00)
        b.assert_agreement()


async def test_preauth_cancel_restores_the_balance(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        hold = await b.terminal.preauth(card(), cny(50_00))
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(50_00)
        cancel = await b.terminal.cancel_preauth(hold.voucher)
        assert cancel.state is State.APPROVED and cancel.receipts_printed == 2
        assert cancel.balance == RICH.opening_balance
        assert b.terminal_state(hold.attempt_id) is State.VOIDED
        assert b.holds() == cny(0)
        assert b.movements() == {}

        again = await b.terminal.cancel_preauth(hold.voucher)
        assert again.response_code == "12"
        late = await b.terminal.complete(hold.voucher, cny(10_00))
        assert late.response_code == "12"
        assert b.card_balance(RICH.pan) == RICH.opening_balance
        b.assert_agreement()


async def test_transfer_moves_money_between_cards_on_file(
    database: Database, tmp_path: Path
) -> None:
    async with bench(database, tmp_path) as b:
        sent = await b.terminal.transfer(card(), OTHER.pan, cny(15_00))
        assert sent.state is State.APPROVED and sent.receipts_printed == 2
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(15_00)
        assert b.card_balance(OTHER.pan) == OTHER.opening_balance + cny(15_00)

        unknown = await b.terminal.transfer(card(), UNKNOWN_CARD_PAN, cny(15_00))
        assert unknown.state is State.DECLINED and unknown.response_code == "14"
        assert "target" in b.host_row(unknown.rrn).reason
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(15_00)
        # The terminal keeps no full card number, neither the source's nor the target's.
        with b.host.host_engine.connect() as connection:
            rows = connection.execute(select(terminal_journal)).all()
        assert all(OTHER.pan not in str(tuple(row)) for row in rows)
        b.assert_agreement()


async def test_a_mixed_day_agrees(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        voided = await b.terminal.sale(card(), cny(11_00))
        await b.terminal.void(voided.voucher)
        refunded = await b.terminal.sale(card(), cny(40_00))
        await b.terminal.refund(refunded.voucher, cny(15_00))
        kept = await b.terminal.sale(card(), cny(9_00))
        completed = await b.terminal.preauth(card(), cny(60_00))
        await b.terminal.complete(completed.voucher, cny(55_00))
        cancelled = await b.terminal.preauth(card(), cny(70_00))
        await b.terminal.cancel_preauth(cancelled.voucher)
        held = await b.terminal.preauth(card(), cny(80_00))
        await b.terminal.transfer(card(), OTHER.pan, cny(5_00))
        declined = await b.terminal.transfer(card(), UNKNOWN_CARD_PAN, cny(5_00))
        assert declined.response_code == "14" and kept.approved and held.approved
        spent = 40_00 - 15_00 + 9_00 + 55_00 + 80_00 + 5_00
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(spent)
        assert b.card_balance(OTHER.pan) == OTHER.opening_balance + cny(5_00)
        assert b.holds() == cny(80_00)
        engine = b.host.host_engine
        report = check_agreement(engine, engine, b.host.issuer_engine)
        assert report.agreement, report.findings
        assert (
            report.issuer_movements == 6
        )  # refunded sale, refund, kept, completion, hold, transfer
        with engine.connect() as connection:
            kinds = {
                Kind(kind) for kind in connection.execute(select(host_journal.c.kind)).scalars()
            }
        assert kinds == {Kind.SALE, Kind.VOID, Kind.REFUND, Kind.PREAUTH, Kind.TRANSFER} | {
            Kind.PREAUTH_COMPLETION,
            Kind.PREAUTH_CANCEL,
        }


async def reverse_at_host(b: Bench, rrn: str | None) -> str:
    """Send the host the 0400 of attempt `rrn`, as a terminal that lost the answer would."""
    row = b.host_row(rrn)
    answer = await b.host.service.handle(
        {
            "t": "0400",
            "3": row.processing_code,
            "4": amount_field(row.amount_minor),
            "7": transmission_field(datetime.now(UTC)),
            "11": "000999",
            "39": "98",
            "41": row.terminal_id,
            "42": row.merchant_id,
            "49": "156",
            "60": row.batch,
            "90": original_data_field(row.mti, row.stan, row.transmission_at),
        }
    )
    assert answer is not None
    return answer["39"]


async def test_a_reversed_void_gives_the_sale_back(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        sale = await b.terminal.sale(card(), cny(8_00))
        void = await b.terminal.void(sale.voucher)
        assert await reverse_at_host(b, void.rrn) == "00"
        assert State(b.host_row(void.rrn).state) is State.REVERSED
        assert State(b.host_row(sale.rrn).state) is State.APPROVED
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(8_00)
        assert b.movements() == {sale.rrn: cny(8_00)}


async def test_a_reversed_completion_holds_again(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        hold = await b.terminal.preauth(card(), cny(30_00))
        done = await b.terminal.complete(hold.voucher, cny(25_00))
        assert await reverse_at_host(b, done.rrn) == "00"
        assert b.holds() == cny(30_00)
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(30_00)
        assert b.movements() == {hold.rrn: cny(30_00)}
        # The hold is open to a completion again.
        again = await b.terminal.complete(hold.voucher, cny(30_00))
        assert again.approved and b.holds() == cny(0)
        assert b.card_balance(RICH.pan) == RICH.opening_balance - cny(30_00)
