"""The magic amount 666.91: the issuer decides the sale, its answer never reaches the host.

docs/test-cards.md and docs/iso8583.md sections 6, 8 and 9 say what follows: the host
answers 91 at once (the issuer simulator signals the lost answer, so nobody waits 10 s)
and holds the sale unknown; a resend gets the same 91 and asks nobody; a status query
says in progress (09); a reversal gives the money back (00); the host's recovery job
finds what the issuer did and undoes it; a pospay terminal records the 91 as declined,
prints nothing, and agrees with the host and the issuer once recovery has run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, select

from databases import Database
from host_messages import SIGN_IN, reversal, sale, status_query
from nodes import CONFIG, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.host.tables import host_journal
from pospay.iso8583 import Message
from pospay.issuer.ledger import approved_movements
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.printer import DirectoryPrinter
from pospay.runtime import HostNode
from pospay.terminal.card_read import CardRead
from pospay.transaction import Method, State

LOST = 66691  # 666.91
LOW = next(card for card in TEST_CARDS if card.pan == "6212345600000095")  # 10.00


@asynccontextmanager
async def lossy_host(database: Database, key_dir: Path) -> AsyncIterator[HostNode]:
    """A host whose recovery runs only when a test says so; the default 10 s wait for the
    issuer, which a lost answer must not make anyone sit through."""
    async with host_node(database, key_dir, recovery_interval=None) as node:
        assert (await node.service.handle(SIGN_IN) or {}).get("39") == "00"
        yield node


async def answer(host: HostNode, message: Message) -> Message:
    response = await host.service.handle(message)
    assert response is not None
    return response


def row(host: HostNode, stan: str) -> Row[Any]:
    with host.host_engine.connect() as connection:
        return connection.execute(select(host_journal).where(host_journal.c.stan == stan)).one()


def moved(host: HostNode) -> list[Money]:
    with host.issuer_engine.connect() as connection:
        return list(dict(approved_movements(connection)).values())


def low_card_sale(stan: str) -> Message:
    """The sale of 666.91 keyed in on the card holding 10.00."""
    keyed = {k: v for k, v in sale(stan, LOST).items() if k not in ("23", "55")}
    return keyed | {"2": LOW.pan, "14": LOW.expiry, "22": "011"}


async def test_the_host_answers_91_at_once_and_holds_the_sale_unknown(
    database: Database, tmp_path: Path
) -> None:
    async with lossy_host(database, tmp_path) as host:
        started = time.monotonic()
        first = await answer(host, sale("000002", LOST))
        assert time.monotonic() - started < host.channel_timeout / 2  # signalled, not waited
        assert first["39"] == "91" and "38" not in first and "54" not in first
        stored = row(host, "000002")
        assert (State(stored.state), stored.response_code) == (State.UNKNOWN, "91")
        assert stored.rrn == first["37"]
        assert moved(host) == [Money(LOST, "CNY")]  # the issuer approved and debited

        # A resend is answered the same 91 from the journal; the issuer is not asked again.
        assert await answer(host, sale("000002", LOST)) == first
        assert State(row(host, "000002").state) is State.UNKNOWN


async def test_its_status_query_says_in_progress_and_its_reversal_returns_the_money(
    database: Database, tmp_path: Path
) -> None:
    async with lossy_host(database, tmp_path) as host:
        original = sale("000002", LOST)
        assert (await answer(host, original))["39"] == "91"
        asked = await answer(host, status_query(original, "000003"))
        assert asked["39"] == "09" and "44" not in asked

        assert (await answer(host, reversal(original, "000004")))["39"] == "00"
        assert State(row(host, "000002").state) is State.REVERSED
        assert moved(host) == []
        again = await answer(host, status_query(original, "000005"))
        assert again["39"] == "09"  # reversed: its first answer no longer stands
        assert (await answer(host, sale("000002", LOST)))["39"] == "91"  # still its answer


@pytest.mark.parametrize(
    ("low", "final", "done"),
    [(False, State.REVERSED, "09"), (True, State.DECLINED, "00")],
    ids=["approved-at-the-issuer", "declined-51-at-the-issuer"],
)
async def test_the_host_s_recovery_undoes_what_the_issuer_did(
    database: Database, tmp_path: Path, low: bool, final: State, done: str
) -> None:
    async with lossy_host(database, tmp_path) as host:
        original = low_card_sale("000002") if low else sale("000002", LOST)
        assert (await answer(host, original))["39"] == "91"
        assert State(row(host, "000002").state) is State.UNKNOWN

        report = await host.recovery.run_once(grace=0)

        assert [(r.was, r.now) for r in report.resolved] == [(State.UNKNOWN, final)]
        resolved = row(host, "000002")
        assert (State(resolved.state), resolved.response_code) == (final, "91")
        assert moved(host) == []
        asked = await answer(host, status_query(original, "000003"))
        assert asked["39"] == done
        if done == "00":  # declined for good, with the 91 the terminal was told
            assert asked["44"] == "91"
        # Whatever became of it, a terminal's reversal is answered 00 and moves nothing.
        assert (await answer(host, reversal(original, "000004")))["39"] == "00"
        assert moved(host) == []


async def test_a_pospay_terminal_declines_the_91_and_agrees_after_recovery(
    database: Database, tmp_path: Path
) -> None:
    config = dataclasses.replace(CONFIG, supervisor_kinds=frozenset())
    async with lossy_host(database, tmp_path / "keys") as host:
        printer = DirectoryPrinter(tmp_path / "receipts")
        async with terminal_node(database, host, printer, config) as terminal:
            assert await terminal.sign_in() == "00"
            card = CardRead.for_test_card(TEST_CARDS[0], Method.CARD_CHIP)
            outcome = await terminal.sale(card, Money(LOST, "CNY"))
            assert (outcome.state, outcome.response_code) == (State.DECLINED, "91")
            assert outcome.status_queries == 0 and outcome.receipts_printed == 0
            engines = (host.host_engine, host.host_engine, host.issuer_engine)
            assert not check_agreement(*engines).agreement  # the issuer holds the money

            # The batch cannot close around a sale the host still holds unknown.
            refused = await terminal.settle()
            assert (refused.settled, refused.response_code) == (False, "09")
            await host.recovery.run_once(grace=0)
            settled = await terminal.settle()
            assert (settled.settled, settled.attempts_settled) == (True, 0)
        report = check_agreement(*engines)
        assert report.agreement, report.findings
        assert moved(host) == []
        printed = {path.stem for path in (tmp_path / "receipts").iterdir()}
        assert printed == {"settlement-000001"}  # the slip, and no receipt of the sale
