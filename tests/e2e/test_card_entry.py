"""Entry modes end to end: chip and contactless carry an ARQC in field 55 that the issuer
verifies and answers with an ARPC the card checks; the magnetic stripe carries track 2
in field 35. Fields 22 and 23 and the chip's non-sensitive data reach both journals;
no track 2 and no full PAN reach any table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Row, select

from databases import Database
from nodes import CONFIG, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.cards.track2 import track2_equivalent
from pospay.emv import SimulatedCard
from pospay.host.tables import host_journal
from pospay.host.tables import metadata as host_metadata
from pospay.issuer.ledger import approved_movements
from pospay.issuer.tables import metadata as issuer_metadata
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.printer import DirectoryPrinter
from pospay.runtime import HostNode
from pospay.terminal.card_read import CardRead
from pospay.terminal.engine import Terminal
from pospay.terminal.outcome import Outcome
from pospay.terminal.tables import metadata as terminal_metadata
from pospay.terminal.tables import terminal_journal, terminal_receipt, terminal_reversal
from pospay.transaction import Method, State

CARD = TEST_CARDS[2]  # Visa, PSN 01
REPLACEMENT = TEST_CARDS[1]  # UnionPay, PSN 02
COUNTERFEIT_KEY = bytes.fromhex("0E0E0E0E0E0E0E0E1C1C1C1C1C1C1C1C")


class ArpcTamperedOnTheWay(SimulatedCard):
    """A chip that receives tag 91 with one bit flipped, as if altered before the card."""

    def external_authenticate(self, arqc: bytes, issuer_authentication_data: bytes) -> bool:
        tampered = bytes([issuer_authentication_data[0] ^ 0x01]) + issuer_authentication_data[1:]
        return super().external_authenticate(arqc, tampered)


@dataclass
class Bench:
    host: HostNode
    terminal: Terminal

    def host_row(self, outcome: Outcome) -> Row[Any]:
        with self.host.host_engine.connect() as connection:
            return connection.execute(
                select(host_journal).where(host_journal.c.stan == outcome.stan)
            ).one()

    def terminal_row(self, outcome: Outcome) -> Row[Any]:
        with self.host.host_engine.connect() as connection:
            return connection.execute(
                select(terminal_journal).where(terminal_journal.c.id == outcome.attempt_id)
            ).one()

    def receipt_texts(self, outcome: Outcome) -> list[str]:
        with self.host.host_engine.connect() as connection:
            receipts = terminal_receipt.c
            query = select(receipts.text).where(receipts.journal_id == outcome.attempt_id)
            return list(connection.execute(query).scalars())

    def movements(self) -> dict[str, Money]:
        with self.host.issuer_engine.connect() as connection:
            return approved_movements(connection)

    def agree(self) -> bool:
        host = self.host
        return check_agreement(host.host_engine, host.host_engine, host.issuer_engine).agreement


@asynccontextmanager
async def bench(database: Database, tmp_path: Path) -> AsyncIterator[Bench]:
    printer = DirectoryPrinter(tmp_path / "receipts")
    async with (
        host_node(database, tmp_path / "keys") as host,
        terminal_node(database, host, printer) as terminal,
    ):
        assert await terminal.sign_in() == "00"
        yield Bench(host, terminal)


@pytest.mark.parametrize(
    ("method", "entry_mode"), [(Method.CARD_CHIP, "051"), (Method.CARD_CONTACTLESS, "071")]
)
async def test_a_chip_sale_is_approved_with_its_arpc_verified(
    database: Database, tmp_path: Path, method: Method, entry_mode: str
) -> None:
    async with bench(database, tmp_path) as b:
        read = CardRead.for_test_card(REPLACEMENT, method)
        outcome = await b.terminal.sale(read, Money(1_250, "CNY"))
        assert outcome.state is State.APPROVED, outcome
        assert read.icc is not None and read.icc.atc == 1
        host_row, terminal_row = b.host_row(outcome), b.terminal_row(outcome)
        assert (host_row.pos_entry_mode, host_row.card_sequence) == (entry_mode, "002")
        assert host_row.issuer_auth_data and host_row.issuer_auth_data.endswith("3030")  # ARC "00"
        assert (terminal_row.pos_entry_mode, terminal_row.card_sequence) == (entry_mode, "002")
        assert (terminal_row.emv_aid, terminal_row.emv_label) == (
            "A000000333010101",
            "UnionPay Debit",
        )
        assert (terminal_row.emv_tvr, terminal_row.emv_tsi) == ("0000008000", "E800")
        assert terminal_row.emv_atc == 1 and len(terminal_row.emv_arqc) == 16
        # Both receipts print the chip's answer as journalled (issue 5 item 1).
        texts = b.receipt_texts(outcome)
        assert len(texts) == 2
        for text in texts:
            for value in ("A000000333010101", "UnionPay Debit", "0000008000", "E800"):
                assert value in text
            assert terminal_row.emv_arqc in text
        assert list(b.movements().values()) == [Money(1_250, "CNY")]
        assert b.agree()


async def test_the_replaced_card_read_under_its_old_psn_declines_05(
    database: Database, tmp_path: Path
) -> None:
    """docs/test-cards.md: a read with the wrong PSN declines 05, even when the chip made its
    ARQC under the PSN field 23 names (issue 21 item 6)."""
    async with bench(database, tmp_path) as b:
        old = SimulatedCard(REPLACEMENT.pan, "01")
        read = CardRead(REPLACEMENT.pan, REPLACEMENT.expiry, Method.CARD_CHIP, "001", icc=old)
        outcome = await b.terminal.sale(read, Money(1_250, "CNY"))
        assert (outcome.state, outcome.response_code) == (State.DECLINED, "05")
        assert b.host_row(outcome).reason.startswith("ARQC verification failed: field 23")
        assert b.movements() == {}
        assert b.agree()


async def test_a_wrong_arqc_declines_05_and_moves_no_money(
    database: Database, tmp_path: Path
) -> None:
    async with bench(database, tmp_path) as b:
        counterfeit = SimulatedCard(CARD.pan, CARD.psn, imk_ac=COUNTERFEIT_KEY)
        read = CardRead(CARD.pan, CARD.expiry, Method.CARD_CHIP, "001", icc=counterfeit)
        outcome = await b.terminal.sale(read, Money(1_250, "CNY"))
        # A chip read whose chip was not asked (no field 55) is no better.
        no_icc = CardRead(CARD.pan, CARD.expiry, Method.CARD_CHIP)
        bare = await b.terminal.sale(no_icc, Money(1_250, "CNY"))
        assert (outcome.state, outcome.response_code) == (State.DECLINED, "05")
        assert (bare.state, bare.response_code) == (State.DECLINED, "05")
        assert b.host_row(outcome).reason == "ARQC verification failed"
        assert b.host_row(bare).reason.startswith("ARQC verification failed: a chip request")
        assert b.host_row(outcome).issuer_auth_data is None  # no ARPC for a forged ARQC
        assert b.movements() == {}
        assert b.agree()


async def test_a_rejected_arpc_reverses_the_approval(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        chip = ArpcTamperedOnTheWay(CARD.pan, CARD.psn)
        read = CardRead(CARD.pan, CARD.expiry, Method.CARD_CHIP, "001", icc=chip)
        outcome = await b.terminal.sale(read, Money(2_000, "CNY"))
        assert outcome.state is State.REVERSED, outcome
        assert b.terminal_row(outcome).reason == (
            "issuer authentication failed: the card rejected the ARPC"
        )
        with b.host.host_engine.connect() as connection:
            reasons = connection.execute(select(terminal_reversal.c.reason_code)).scalars().all()
        assert reasons == ["A1"]
        assert b.host_row(outcome).state == State.REVERSED.value
        assert b.movements() == {}
        assert b.agree()


async def test_a_magstripe_sale_carries_track_2(database: Database, tmp_path: Path) -> None:
    async with bench(database, tmp_path) as b:
        read = CardRead.for_test_card(CARD, Method.CARD_MAGSTRIPE)
        assert read.track2 == track2_equivalent(CARD.pan, CARD.expiry)
        outcome = await b.terminal.sale(read, Money(900, "CNY"))
        assert outcome.state is State.APPROVED
        assert b.host_row(outcome).pos_entry_mode == "021"
        assert b.terminal_row(outcome).emv_arqc is None
        assert all("ARQC" not in text for text in b.receipt_texts(outcome))
        # Track 2 is required for a stripe read, and must name the card of fields 2 and 14.
        without = await b.terminal.sale(
            CardRead(CARD.pan, CARD.expiry, Method.CARD_MAGSTRIPE), Money(900, "CNY")
        )
        assert without.response_code == "30"
        other = TEST_CARDS[3]
        foreign = CardRead(CARD.pan, CARD.expiry, Method.CARD_MAGSTRIPE)
        # A reader that reports another card's stripe (`CardRead` itself refuses to).
        object.__setattr__(foreign, "track2", track2_equivalent(other.pan, other.expiry))
        mismatch = await b.terminal.sale(foreign, Money(900, "CNY"))
        assert mismatch.response_code == "30"
        assert list(b.movements().values()) == [Money(900, "CNY")]


def _cells(engine: Engine) -> list[str]:
    """Every value of every pospay table, as text (bytes also as hex and Latin-1)."""
    cells: list[str] = []
    tables = [
        *host_metadata.sorted_tables,
        *terminal_metadata.sorted_tables,
        *issuer_metadata.sorted_tables,
    ]
    with engine.connect() as connection:
        for table in tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes):
                        cells += [value.hex().upper(), value.decode("latin-1")]
                    elif value is not None:
                        cells.append(str(value))
    return cells


async def test_no_track_2_or_full_pan_is_stored_anywhere(
    database: Database, tmp_path: Path
) -> None:
    async with bench(database, tmp_path) as b:
        for method in Method.CARD_CHIP, Method.CARD_CONTACTLESS, Method.CARD_MAGSTRIPE:
            read = CardRead.for_test_card(CARD, method, pin=CARD.pin)
            assert (await b.terminal.sale(read, Money(500, "CNY"))).approved
        counterfeit = SimulatedCard(CARD.pan, CARD.psn, imk_ac=COUNTERFEIT_KEY)
        forged = CardRead(CARD.pan, CARD.expiry, Method.CARD_CHIP, "001", icc=counterfeit)
        assert (await b.terminal.sale(forged, Money(500, "CNY"))).response_code == "05"
        tampered = ArpcTamperedOnTheWay(CARD.pan, CARD.psn)
        read = CardRead(CARD.pan, CARD.expiry, Method.CARD_CHIP, "001", icc=tampered)
        assert (await b.terminal.sale(read, Money(500, "CNY"))).state is State.REVERSED
        cells = _cells(b.host.host_engine)
    track2 = track2_equivalent(CARD.pan, CARD.expiry)
    # The PAN's digits are also its BCD form in hex, so one search finds both.
    assert not [cell for cell in cells if CARD.pan in cell or track2 in cell]
    assert not [cell for cell in cells if f"{CARD.pan}=" in cell or "D" + CARD.expiry in cell]
    assert CONFIG.terminal_id in cells  # the scan saw the terminal's rows
