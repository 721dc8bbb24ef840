"""Link security end to end: sign-in keys, MACs and online PIN, over real host and
terminal nodes on ISO 8583/TCP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from databases import Database
from nodes import CONFIG, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.clock import SystemClock
from pospay.errors import KeyCheckFailed
from pospay.host.tables import host_journal, host_refusal, host_terminal_key
from pospay.host.tables import metadata as host_metadata
from pospay.iso8583 import Message
from pospay.issuer.ledger import approved_movements
from pospay.issuer.tables import metadata as issuer_metadata
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.printer import DirectoryPrinter
from pospay.runtime import HostNode
from pospay.security.keys import decrypt_under
from pospay.security.pin import encrypt_pin_block
from pospay.security.test_keys import TEST_TMK
from pospay.storage import GroupCommitter, migrate
from pospay.terminal.card_read import CardRead
from pospay.terminal.engine import Terminal
from pospay.terminal.link import TcpHostLink
from pospay.terminal.reversals import reversals
from pospay.terminal.tables import metadata as terminal_metadata
from pospay.terminal.tables import terminal_journal, terminal_key, terminal_state
from pospay.transaction import Method, State

CARD = TEST_CARDS[0]


def read(pin: str | None = None) -> CardRead:
    return CardRead.for_test_card(CARD, Method.CARD_CHIP, pin=pin)


class TamperingLink:
    """A `HostLink` under the terminal's MAC layer that can spoil the next MAC it sees:
    "request" changes field 64 of the next financial request, "response" that of the
    next financial response. It also keeps every message, to look for secrets."""

    def __init__(self, inner: TcpHostLink) -> None:
        self.inner = inner
        self.spoil: str | None = None
        self.seen: list[Message] = []

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        financial = not request["t"].startswith("08")
        if financial and self.spoil == "request":
            self.spoil = None
            request = request | {"64": "0000000000000000"}
        response = await self.inner.exchange(request, timeout=timeout)
        if financial and self.spoil == "response":
            self.spoil = None
            response = response | {"64": "FFFFFFFFFFFFFFFF"}
        self.seen += [request, response]
        return response

    async def close(self) -> None:
        await self.inner.close()


@asynccontextmanager
async def running(
    database: Database, tmp_path: Path
) -> AsyncIterator[tuple[HostNode, Terminal, TamperingLink, Engine]]:
    async with host_node(database, tmp_path / "keys") as host:
        engine = database.engine()
        migrate(engine, "terminal")
        committer = GroupCommitter(engine)
        committer.start()
        link = TamperingLink(TcpHostLink("127.0.0.1", host.port))
        printer = DirectoryPrinter(tmp_path / "receipts")
        terminal = Terminal(CONFIG, committer, link, SystemClock(), printer)
        try:
            await terminal.open()
            yield host, terminal, link, engine
        finally:
            await link.close()
            await committer.stop()
            engine.dispose()


def stored_keys(engine: Engine) -> tuple[bytes, bytes, bytes, bytes]:
    """The terminal's keys as stored, and the host's wrapped ones."""
    with engine.connect() as connection:
        mine = connection.execute(select(terminal_key)).one()
        hosts = connection.execute(select(host_terminal_key)).one()
    return (
        mine.pin_key_under_tmk,
        mine.mac_key_under_tmk,
        hosts.pin_key_wrapped,
        hosts.mac_key_wrapped,
    )


def every_value(engine: Engine) -> list[Any]:
    values: list[Any] = []
    with engine.connect() as connection:
        for metadata in (host_metadata, terminal_metadata, issuer_metadata):
            for table in metadata.sorted_tables:
                for row in connection.execute(select(table)):
                    values.extend(row)
    return values


def holds(values: list[Any], secret: bytes) -> bool:
    for value in values:
        if isinstance(value, bytes | bytearray | memoryview) and secret in bytes(value):
            return True
        if isinstance(value, str) and secret.hex() in value.lower():
            return True
    return False


async def test_keys_change_at_every_sign_in_and_are_never_stored_in_clear(
    database: Database, tmp_path: Path
) -> None:
    async with running(database, tmp_path) as (_host, terminal, link, engine):
        assert await terminal.sign_in() == "00"
        first = stored_keys(engine)
        assert await terminal.sign_in() == "00"
        second = stored_keys(engine)
        assert all(a != b for a, b in zip(first, second, strict=True))
        clear = [decrypt_under(TEST_TMK, wrapped) for wrapped in second[:2]]
        outcome = await terminal.sale(read(pin=CARD.pin), Money(500, "CNY"))
        assert outcome.state is State.APPROVED
        values = every_value(engine)
        assert values, "the scan read the tables"
        for key in clear:
            assert not holds(values, key), "a working key is stored in clear"
            assert all(key.hex() not in str(message).lower() for message in link.seen[2:])
        assert "62" in link.seen[1] and "64" not in link.seen[1], "0810: keys, no MAC"
        assert all("64" in message for message in link.seen[4:]), "financial: MAC both ways"


async def test_signed_in_keys_survive_a_restart(database: Database, tmp_path: Path) -> None:
    printer = DirectoryPrinter(tmp_path / "receipts")
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer) as terminal:
            assert await terminal.sign_in() == "00"
        async with terminal_node(database, host, printer) as terminal:
            outcome = await terminal.sale(read(), Money(300, "CNY"))
        assert outcome.state is State.APPROVED, outcome


async def test_a_sign_in_whose_keys_fail_their_check_is_refused(
    database: Database, tmp_path: Path
) -> None:
    config = replace(CONFIG, master_key=bytes.fromhex("0E0E0E0E0E0E0E0E1C1C1C1C1C1C1C1C"))
    printer = DirectoryPrinter(tmp_path / "receipts")
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, printer, config) as terminal:
            with pytest.raises(KeyCheckFailed, match="key check value"):
                await terminal.sign_in()
        engine = database.engine()
        with engine.connect() as connection:
            assert connection.execute(select(terminal_key)).first() is None
            assert connection.execute(select(terminal_state.c.signed_in_at)).scalar_one() is None
        engine.dispose()


async def test_a_request_with_a_bad_mac_is_refused_a0_moves_nothing_and_is_reversed(
    database: Database, tmp_path: Path
) -> None:
    async with running(database, tmp_path) as (host, terminal, link, engine):
        assert await terminal.sign_in() == "00"
        link.spoil = "request"
        outcome = await terminal.sale(read(), Money(777, "CNY"))
        assert outcome.state is State.REVERSED
        assert link.seen[3]["39"] == "A0" and "64" not in link.seen[3]
        with engine.connect() as connection:
            row = connection.execute(select(host_journal)).one()
            queued = reversals(connection)
            refused = connection.execute(select(host_refusal)).one()
        # The refused sale left no journal row of its own; its reversal (A0) found the
        # key unseen, answered 25 and left a tombstone, so the sale can never be
        # authorised later.
        assert (row.stan, row.state, row.response_code, row.tombstone) == (
            outcome.stan,
            "reversed",
            None,
            "reversal",
        )
        assert [(r.reason_code, r.state, r.response_code) for r in queued] == [
            ("A0", "confirmed", "25")
        ]
        assert (refused.stan, refused.response_code, refused.reason) == (
            outcome.stan,
            "A0",
            "MAC verification failed",
        )
        with host.issuer_engine.connect() as connection:
            assert approved_movements(connection) == {}
        report = check_agreement(engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings


async def test_a_response_with_a_bad_mac_is_reversed_and_the_money_returned(
    database: Database, tmp_path: Path
) -> None:
    async with running(database, tmp_path) as (host, terminal, link, engine):
        assert await terminal.sign_in() == "00"
        link.spoil = "response"
        outcome = await terminal.sale(read(), Money(888, "CNY"))
        assert outcome.state is State.REVERSED
        with engine.connect() as connection:
            assert [(r.reason_code, r.state) for r in reversals(connection)] == [
                ("A0", "confirmed")
            ]
            host_state = connection.execute(select(host_journal.c.state)).scalar_one()
            attempt = connection.execute(select(terminal_journal)).one()
        assert host_state == "reversed" and "MAC" in attempt.reason
        with host.issuer_engine.connect() as connection:
            assert approved_movements(connection) == {}
        report = check_agreement(engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings


async def test_online_pin_wrong_wrong_exceeded_and_right_pin(
    database: Database, tmp_path: Path
) -> None:
    other = TEST_CARDS[1]
    async with running(database, tmp_path) as (host, terminal, link, engine):
        assert await terminal.sign_in() == "00"
        right = await terminal.sale(read(pin=CARD.pin), Money(100, "CNY"))
        assert right.state is State.APPROVED
        codes = [
            (await terminal.sale(read(pin="999999"), Money(100, "CNY"))).response_code
            for _ in range(3)
        ]
        assert codes == ["55", "55", "75"]
        locked = await terminal.sale(read(pin=CARD.pin), Money(100, "CNY"))
        assert locked.response_code == "75", "after three wrong PINs even the right one fails"
        # A right PIN resets the count: two wrong, one right, two wrong is never 75.
        card = CardRead.for_test_card(other, Method.CARD_CHIP, pin="000000")
        good = CardRead.for_test_card(other, Method.CARD_CHIP, pin=other.pin)
        sequence = [card, card, good, card, card]
        answers = [(await terminal.sale(c, Money(100, "CNY"))).response_code for c in sequence]
        assert answers == ["55", "55", "00", "55", "55"]

        # No PIN block, clear or encrypted, is stored anywhere.
        values = every_value(engine)
        blocks = [bytes.fromhex(m["52"]) for m in link.seen if "52" in m]
        assert len(blocks) == 10
        assert not any(holds(values, block) for block in blocks)
        tpk = decrypt_under(TEST_TMK, stored_keys(engine)[0])
        assert encrypt_pin_block(CARD.pin, CARD.pan, tpk) not in str(values).upper()
        assert "52" not in {column.name for column in host_journal.columns}
        report = check_agreement(engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings
