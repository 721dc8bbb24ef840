"""The terminal's stored chain stays whole under group commit, rollbacks and several
terminals (and several writers) on one database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, select

from databases import Database
from journal_rows import answer, chip_sale
from pospay.cards import mask_merchant
from pospay.issuer.test_cards import TEST_CARDS
from pospay.receipts.chain import export_chain, parse_chain, verify_chain
from pospay.receipts.signing import qr_payload
from pospay.storage import GroupCommitter, migrate
from pospay.terminal import journal
from pospay.terminal.config import TerminalConfig
from pospay.terminal.receipt_chain import stored_chain
from pospay.terminal.receipts import store_receipts
from pospay.terminal.tables import terminal_receipt, terminal_receipt_document
from pospay.transaction import Event

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ROUNDS = 6
CARD = TEST_CARDS[0]


class Failed(Exception):
    """A unit that fails after it signed: its documents must roll back with it."""


def config(number: int) -> TerminalConfig:
    return TerminalConfig(
        terminal_id=f"3000000{number}", merchant_id="898310048160009", merchant_name="链 CHAIN"
    )


def approved_sale(
    terminal: TerminalConfig, key: Ed25519PrivateKey, number: int, *, fail: bool = False
) -> Callable[[Connection], list[int]]:
    """One unit: an attempt recorded, approved and its receipts signed and stored."""

    def work(connection: Connection) -> list[int]:
        record = chip_sale(
            terminal.terminal_id, 100 + number, mask_merchant(CARD.pan), f"{number:010d}"
        )
        row = journal.record_attempt(connection, record, NOW)
        done = answer(connection, row.id, Event.APPROVE, NOW, rrn=f"{number:012d}")
        stored = store_receipts(connection, done, terminal, key, NOW)
        if fail:
            raise Failed
        return stored

    return work


def ensure(terminal: TerminalConfig) -> Callable[[Connection], None]:
    return lambda connection: journal.ensure_terminal(
        connection, terminal.terminal_id, terminal.merchant_id
    )


async def run_terminals(
    committer: GroupCommitter, terminals: list[TerminalConfig], key: Ed25519PrivateKey
) -> dict[str, int]:
    """ROUNDS sales per terminal, all queued at once (so they share batches), every
    third one failing after it signed; the number of successful sales per terminal."""
    for terminal in terminals:
        await committer.run(ensure(terminal))
    units, owners = [], []
    for round_ in range(ROUNDS):
        for index, terminal in enumerate(terminals):
            number = round_ * 100 + index + 1000 * int(terminal.terminal_id[-1])
            fail = (round_ + index) % 3 == 2
            units.append(committer.run(approved_sale(terminal, key, number, fail=fail)))
            owners.append(terminal.terminal_id)
    results = await asyncio.gather(*units, return_exceptions=True)
    assert all(isinstance(r, list | Failed) for r in results), results
    ok: dict[str, int] = {}
    for owner, result in zip(owners, results, strict=True):
        ok[owner] = ok.get(owner, 0) + (0 if isinstance(result, Failed) else 1)
    return ok


def check_chain(
    connection: Connection, terminal_id: str, sales: int, key: Ed25519PrivateKey
) -> None:
    chain = stored_chain(connection, terminal_id)
    assert [signed.counter for signed in chain] == list(range(1, 2 * sales + 1))
    exported = export_chain(terminal_id, chain, key, "now")
    assert verify_chain(parse_chain(exported), key.public_key()) == []


async def test_concurrent_units_of_several_terminals_keep_each_chain_whole(
    database: Database,
) -> None:
    engine = database.engine()
    migrate(engine, "terminal")
    key = Ed25519PrivateKey.generate()
    terminals = [config(n) for n in (1, 2, 3)]
    async with GroupCommitter(engine) as committer:
        sales = await run_terminals(committer, terminals, key)
    assert committer.units > committer.batches  # units did share group-commit batches
    with engine.connect() as connection:
        for terminal in terminals:
            check_chain(connection, terminal.terminal_id, sales[terminal.terminal_id], key)
        # The QR printed on each receipt names its own stored document.
        r, d = terminal_receipt.c, terminal_receipt_document.c
        rows = list(
            connection.execute(
                select(r.text, d.terminal_id, d.counter).join_from(
                    terminal_receipt, terminal_receipt_document, d.receipt_id == r.id
                )
            )
        )
        documents = {
            (s.terminal, s.counter): s
            for t in terminals
            for s in stored_chain(connection, t.terminal_id)
        }
        assert len(rows) == len(documents) == 2 * sum(sales.values())
        for row in rows:
            payload = qr_payload(documents[(row.terminal_id, row.counter)])
            assert payload in "".join(row.text.split())
    engine.dispose()


async def test_two_writers_on_one_database_keep_their_terminals_chains_whole(
    database: Database,
) -> None:
    """Two terminal processes (two engines, two group committers) sharing a database."""
    engines = [database.engine(), database.engine()]
    migrate(engines[0], "terminal")
    key = Ed25519PrivateKey.generate()
    groups = [[config(1), config(2)], [config(3), config(4)]]
    async with GroupCommitter(engines[0]) as first, GroupCommitter(engines[1]) as second:
        counts = await asyncio.gather(
            run_terminals(first, groups[0], key), run_terminals(second, groups[1], key)
        )
    with engines[0].connect() as connection:
        for group, sales in zip(groups, counts, strict=True):
            for terminal in group:
                check_chain(connection, terminal.terminal_id, sales[terminal.terminal_id], key)
    for engine in engines:
        engine.dispose()


async def test_stored_documents_hold_no_card_number(database: Database) -> None:
    engine = database.engine()
    migrate(engine, "terminal")
    key = Ed25519PrivateKey.generate()
    async with GroupCommitter(engine) as committer:
        await run_terminals(committer, [config(5)], key)
    with engine.connect() as connection:
        stored = list(
            connection.execute(
                select(terminal_receipt_document.c.document, terminal_receipt.c.text).join_from(
                    terminal_receipt_document,
                    terminal_receipt,
                    terminal_receipt.c.id == terminal_receipt_document.c.receipt_id,
                )
            )
        )
    engine.dispose()
    assert stored
    for document, text in stored:
        for card in TEST_CARDS:
            assert card.pan not in document and card.pan not in text
            assert card.pan[:7] not in document  # first 6 at most
