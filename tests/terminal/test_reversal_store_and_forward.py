"""Reversal store-and-forward on the terminal, against a real host over ISO 8583/TCP.

The link to the host is a real `TcpHostLink` wrapped in `FaultyLink`, which can lose
the response of the next request after the host has acted on it, or refuse to send.

A lost answer is first followed by a status query (0600); these tests are about the
reversal that follows when the query cannot tell either, so they lose its answer too
(`LOST`: the request's answer, then the status query's).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from databases import Database
from journal_rows import chip_sale
from nodes import CONFIG, RecordingPrinter, host_node
from pospay.audit import check_agreement
from pospay.clock import SystemClock
from pospay.errors import LinkError, OutcomeUnknown
from pospay.host.reversals import reversals as host_reversals
from pospay.host.tables import host_journal
from pospay.iso8583 import Message
from pospay.iso8583.fields import transmission_field
from pospay.issuer.ledger import approved_movements
from pospay.issuer.tables import issuer_entry
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.printer import DirectoryPrinter, ReceiptPrinter
from pospay.runtime import HostNode
from pospay.storage import GroupCommitter, migrate
from pospay.terminal import journal
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal
from pospay.terminal.link import TcpHostLink
from pospay.terminal.outcome import Outcome
from pospay.terminal.reversals import ReversalState, reversals
from pospay.terminal.tables import terminal_slip
from pospay.transaction import Kind, Method, State

CARD = TEST_CARDS[0]
LOST = ("drop", "drop")
READ = CardRead.for_test_card(CARD, Method.CARD_CHIP)


class FaultyLink:
    """A `HostLink` that records what it is asked to send and can be told to fail.

    `faults` is consumed one entry per request: "drop" sends the request to the host
    and then loses its answer (OutcomeUnknown), "refuse" does not send it (LinkError),
    "tamper" returns the answer with another amount, "ok" exchanges normally.
    With `down` set, no request gets an answer (OutcomeUnknown: each counts as a try).
    """

    def __init__(self, inner: TcpHostLink) -> None:
        self.inner = inner
        self.sent: list[Message] = []
        self.faults: list[str] = []
        self.down = False

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        self.sent.append(dict(request))
        fault = self.faults.pop(0) if self.faults else "ok"
        if fault == "refuse":
            raise LinkError("test link: host unreachable")
        if self.down:
            raise OutcomeUnknown("test link: no answer")
        response = await self.inner.exchange(request, timeout=timeout)
        if fault == "drop":
            raise OutcomeUnknown("test link: response lost")
        if fault == "tamper":
            return response | {"4": "000000000001"}
        return response

    async def close(self) -> None:
        await self.inner.close()

    def mtis(self) -> list[str]:
        return [message["t"] for message in self.sent]


@dataclass
class Sleeps:
    seconds: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@dataclass
class Rig:
    terminal: Terminal
    link: FaultyLink
    engine: Engine
    host: HostNode
    sleeps: Sleeps

    def attempt_state(self, attempt_id: int) -> State:
        with self.engine.connect() as connection:
            return State(journal.attempt(connection, attempt_id).state)

    def queue(self) -> list[tuple[str, str, int]]:
        with self.engine.connect() as connection:
            return [(r.state, r.reason_code, r.tries) for r in reversals(connection)]

    def movements(self) -> dict[str, Money]:
        with self.host.issuer_engine.connect() as connection:
            return approved_movements(connection)

    def agreement_findings(self) -> dict[str, int]:
        report = check_agreement(self.engine, self.host.host_engine, self.host.issuer_engine)
        return {name: count for name, count in report.by_invariant().items() if count}


@asynccontextmanager
async def running_terminal(
    database: Database,
    host: HostNode,
    receipts: Path,
    config: TerminalConfig = CONFIG,
    printer: ReceiptPrinter | None = None,
) -> AsyncIterator[Rig]:
    engine = database.engine()
    migrate(engine, "terminal")
    committer = GroupCommitter(engine)
    committer.start()
    link = FaultyLink(TcpHostLink("127.0.0.1", host.port))
    sleeps = Sleeps()
    printer = printer or DirectoryPrinter(receipts)
    terminal = Terminal(config, committer, link, SystemClock(), printer, sleep=sleeps)
    try:
        await terminal.open()
        yield Rig(terminal, link, engine, host, sleeps)
    finally:
        await link.close()
        await committer.stop()
        engine.dispose()


@asynccontextmanager
async def rig(database: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    async with (
        host_node(database, tmp_path / "keys") as host,
        running_terminal(database, host, tmp_path / "receipts") as running,
    ):
        assert await running.terminal.sign_in() == "00"
        yield running


async def test_a_lost_approval_is_reversed_on_both_sides_and_the_money_returned(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        # The first reversal cannot reach the host: certainly not sent, so not a try.
        r.link.faults = [*LOST, "refuse"]
        outcome = await r.terminal.sale(READ, Money(1250, "CNY"))
        assert outcome.state is State.REVERSAL_PENDING
        assert outcome.message_en == "No answer, reversal pending"
        assert len(r.movements()) == 1  # the host approved and the issuer moved the money
        assert r.queue() == [("pending", "98", 0)]

        [status] = await r.terminal.flush_reversals()
        assert (status.state, status.response_code, status.tries) == (
            ReversalState.CONFIRMED,
            "00",
            1,
        )
        assert r.attempt_state(outcome.attempt_id) is State.REVERSED
        with r.host.host_engine.connect() as connection:
            assert connection.execute(select(host_journal.c.state)).scalar_one() == "reversed"
        assert r.movements() == {}
        assert r.agreement_findings() == {}
        assert await r.terminal.flush_reversals() == []


async def test_a_reversal_goes_out_at_once_and_carries_no_card_number(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = [*LOST]
        outcome = await r.terminal.sale(READ, Money(300, "CNY"))
        assert outcome.state is State.REVERSED
        assert outcome.message_en == "No answer, reversed: nothing charged"
        assert outcome.receipts_printed == outcome.receipts_pending == 0
        assert outcome.status_queries == 1
        sale, query, reversal = r.link.sent[-3:]
        assert query["t"] == "0600" and "2" not in query and query["90"] == reversal["90"]
        assert reversal["t"] == "0400" and "2" not in reversal and "35" not in reversal
        assert reversal["90"][:20] == "0200" + sale["11"] + sale["7"]
        assert (reversal["3"], reversal["4"], reversal["39"]) == (sale["3"], sale["4"], "98")
        assert reversal["11"] != sale["11"]
        assert r.agreement_findings() == {}


async def test_a_reversal_the_host_never_answers_fails_after_its_retries_and_stays_pending(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = [*LOST, "refuse"]
        outcome = await r.terminal.sale(READ, Money(880, "CNY"))
        r.link.down = True  # from now on the host never answers
        assert outcome.state is State.REVERSAL_PENDING
        assert r.queue() == [("pending", "98", 0)]  # not sent at all: not a try
        with caplog.at_level(logging.WARNING, logger="pospay.terminal"):
            [status] = await r.terminal.flush_reversals()
        assert (status.state, status.tries) == (ReversalState.FAILED, 3)
        assert "no answer" in status.last_error
        assert r.sleeps.seconds == [0.2, 0.4]  # three tries in this flush, backing off
        anomaly = [record.getMessage() for record in caplog.records if "ANOMALY" in record.message]
        assert len(anomaly) == 1
        assert outcome.voucher in anomaly[0] and CARD.pan[:6] in anomaly[0]
        assert CARD.pan not in anomaly[0]
        # Not final: the auditor says so on the terminal (and the host still says approved).
        findings = r.agreement_findings()
        assert findings["final"] == 1 and findings["outcome"] == 1
        assert len(r.movements()) == 1

        # A failed reversal stays failed: later flushes and sign-ins do not send it again;
        # it is kept for reconciliation.
        r.link.down = False
        sent = len(r.link.sent)
        assert await r.terminal.flush_reversals() == []
        assert await r.terminal.sign_in() == "00"
        assert r.link.mtis()[sent:] == ["0800"]
        assert r.queue() == [("failed", "98", 3)]
        assert r.attempt_state(outcome.attempt_id) is State.REVERSAL_PENDING


async def test_a_reversal_refused_58_before_sign_in_is_no_try_and_goes_out_after_it(
    database: Database, tmp_path: Path
) -> None:
    async with (
        host_node(database, tmp_path / "keys") as host,
        running_terminal(database, host, tmp_path / "receipts") as r,
    ):
        # Never signed in: the sale's answer (58) and the query's are lost, so the
        # terminal reverses; the host refuses that reversal 58 too and records nothing.
        r.link.faults = [*LOST]
        outcome = await r.terminal.sale(READ, Money(450, "CNY"))
        assert outcome.state is State.REVERSAL_PENDING
        assert r.queue() == [("pending", "98", 0)], "a 58 is no try: it waits for a sign-in"
        [status] = await r.terminal.flush_reversals()  # refused 58 again: still no try
        assert (status.state, status.tries) == (ReversalState.PENDING, 0)
        with host.host_engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(host_journal)).scalar() == 0

        assert await r.terminal.sign_in() == "00"  # the flush after it sends the reversal
        assert r.queue() == [("confirmed", "98", 1)]
        assert r.attempt_state(outcome.attempt_id) is State.REVERSED
        with host.host_engine.connect() as connection:
            tombstone = connection.execute(select(host_journal)).one()
        assert (tombstone.state, tombstone.tombstone) == ("reversed", "reversal")
        assert r.movements() == {} and r.agreement_findings() == {}


async def test_a_reversal_sent_twice_reaches_the_host_once(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = [*LOST, "drop"]  # the sale's answer, the query's, the first reversal's
        outcome = await r.terminal.sale(READ, Money(2500, "CNY"))
        assert outcome.state is State.REVERSAL_PENDING
        [status] = await r.terminal.flush_reversals()
        assert status.state is ReversalState.CONFIRMED
        first, second = [message for message in r.link.sent if message["t"] == "0400"]
        assert first == second  # same STAN and transmission time: the host's duplicate key
        with r.host.host_engine.connect() as connection:
            [stored] = host_reversals(connection)
            assert stored.response_code == "00"
        with r.host.issuer_engine.connect() as connection:
            entries = connection.execute(
                select(func.count())
                .select_from(issuer_entry)
                .where(issuer_entry.c.purpose == "reversal")
            ).scalar_one()
        assert entries == 1
        assert r.attempt_state(outcome.attempt_id) is State.REVERSED
        assert r.movements() == {} and r.agreement_findings() == {}


async def test_an_attempt_left_in_flight_by_a_restart_is_reversed_with_reason_06(
    database: Database, tmp_path: Path
) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        async with running_terminal(database, host, tmp_path / "receipts") as first:
            assert await first.terminal.sign_in() == "00"
            record = chip_sale(
                CONFIG.terminal_id,
                990,
                "622202******0005",
                transmission_field(SystemClock().now()),
            )
            with first.engine.begin() as connection:
                # The terminal stops right after recording the attempt, before sending.
                in_flight = journal.record_attempt(connection, record, SystemClock().now())
        async with running_terminal(database, host, tmp_path / "receipts") as second:
            assert second.attempt_state(in_flight.id) is State.REVERSAL_PENDING
            assert second.queue() == [("pending", "06", 0)]
            assert await second.terminal.sign_in() == "00"  # sign-in flushes the queue
            assert second.queue() == [("confirmed", "06", 1)]
            assert second.attempt_state(in_flight.id) is State.REVERSED
            with host.host_engine.connect() as connection:
                [stored] = host_reversals(connection)
            assert (stored.response_code, stored.original_id) == ("25", None)
            assert second.agreement_findings() == {}
        async with running_terminal(database, host, tmp_path / "receipts") as third:
            assert third.queue() == [("confirmed", "06", 1)]  # nothing queued twice


async def test_a_lost_decline_is_reversed_and_nothing_changes(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = [*LOST]
        outcome = await r.terminal.sale(READ, Money(66605, "CNY"))  # magic: do not honour
        assert outcome.state is State.REVERSED
        with r.host.host_engine.connect() as connection:
            assert connection.execute(select(host_journal.c.state)).scalar_one() == "declined"
            [stored] = host_reversals(connection)
        assert stored.response_code == "00"
        with r.host.issuer_engine.connect() as connection:
            entries = connection.execute(select(func.count()).select_from(issuer_entry))
            opening_entries = entries.scalar_one()
        assert opening_entries == len([c for c in TEST_CARDS if c.opening_balance.minor > 0])
        assert r.agreement_findings() == {}


async def test_a_pending_reversal_goes_out_before_the_next_sale(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = [*LOST, "refuse"]
        first = await r.terminal.sale(READ, Money(100, "CNY"))
        assert first.state is State.REVERSAL_PENDING
        second = await r.terminal.sale(READ, Money(200, "CNY"))
        assert second.state is State.APPROVED
        assert r.link.mtis() == ["0800", "0200", "0600", "0400", "0400", "0200"]
        assert r.attempt_state(first.attempt_id) is State.REVERSED
        assert list(r.movements().values()) == [Money(200, "CNY")]
        assert r.agreement_findings() == {}


async def test_backoff_doubles_between_retries(database: Database, tmp_path: Path) -> None:
    config = replace(CONFIG, reversal_retries=4, reversal_backoff=0.5)
    async with (
        host_node(database, tmp_path / "keys") as host,
        running_terminal(database, host, tmp_path / "receipts", config) as r,
    ):
        assert await r.terminal.sign_in() == "00"
        r.link.faults = [*LOST, "refuse"]
        await r.terminal.sale(READ, Money(100, "CNY"))
        r.link.down = True
        [status] = await r.terminal.flush_reversals()
        assert (status.state, status.tries) == (ReversalState.FAILED, 4)
        assert r.sleeps.seconds == [0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    ("fault", "kind", "reason"),
    # A changed answer fails its MAC: reversed with reason A0 rather than 98.
    [("tamper", Kind.SALE, "A0"), ("drop", Kind.BALANCE_INQUIRY, "98")],
    ids=["unusable-sale-answer", "lost-inquiry-answer"],
)
async def test_an_unusable_or_lost_answer_is_reversed(
    database: Database, tmp_path: Path, fault: str, kind: Kind, reason: str
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = [*LOST] if fault == "drop" else [fault]
        if kind is Kind.SALE:
            outcome = await r.terminal.sale(READ, Money(4321, "CNY"))
        else:
            outcome = await r.terminal.balance_inquiry(READ)
        assert outcome.state is State.REVERSED
        assert r.queue() == [("confirmed", reason, 1)]
        with r.host.host_engine.connect() as connection:
            assert connection.execute(select(host_journal.c.state)).scalar_one() == "reversed"
        assert r.movements() == {} and r.agreement_findings() == {}


async def _fail_a_reversal(r: Rig) -> Outcome:
    """A sale whose answer is lost and whose reversal never reaches the host."""
    r.link.faults = [*LOST, "refuse"]
    outcome = await r.terminal.sale(READ, Money(880, "CNY"))
    r.link.down = True
    [status] = await r.terminal.flush_reversals()
    assert status.state is ReversalState.FAILED
    r.link.down = False
    return outcome


def _slips(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(terminal_slip).order_by(terminal_slip.c.id)))


async def test_a_failed_reversal_prints_a_slip_with_the_masked_card_only(
    database: Database, tmp_path: Path
) -> None:
    printer = RecordingPrinter()
    async with (
        host_node(database, tmp_path / "keys") as host,
        running_terminal(database, host, tmp_path / "r", printer=printer) as r,
    ):
        assert await r.terminal.sign_in() == "00"
        outcome = await _fail_a_reversal(r)
        [slip] = _slips(r.engine)
        assert (slip.kind, slip.voucher) == ("reversal_failed", outcome.voucher)
        assert slip.printed_at is not None
        with r.engine.connect() as connection:
            [reversal] = reversals(connection)
        assert slip.reversal_id == reversal.id
        name = f"reversal-failed-{outcome.voucher}"
        assert printer.names == [name]
        [(_, escpos, text)] = printer.jobs
        assert (text, escpos) == (slip.text, slip.escpos)
        for needle in (
            "冲正失败 REVERSAL FAILED",
            "请联系收单机构",
            "CONTACT YOUR ACQUIRER",
            CONFIG.merchant_id,
            CONFIG.terminal_id,
            outcome.voucher,
            outcome.stan,
            f"{CARD.pan[:6]}******{CARD.pan[-4:]}",
            "98",
            "no answer",
            "8.80",
        ):
            assert needle in text, needle
        assert CARD.pan not in text and CARD.pan.encode() not in escpos
        assert "冲正失败".encode("gb18030") in escpos
        # A terminal-side document, not a receipt: the auditor counts no original for it.
        findings = r.agreement_findings()
        assert "receipt" not in findings
        assert findings == {"final": 1, "outcome": 1}
        assert await r.terminal.pending_receipts() == []


async def test_with_the_printer_down_the_slip_waits_and_prints_first(
    database: Database, tmp_path: Path
) -> None:
    printer = RecordingPrinter(fault="paper_out")
    async with (
        host_node(database, tmp_path / "keys") as host,
        running_terminal(database, host, tmp_path / "r", printer=printer) as r,
    ):
        assert await r.terminal.sign_in() == "00"
        failed = await _fail_a_reversal(r)
        [slip] = _slips(r.engine)
        assert slip.printed_at is None
        sale = await r.terminal.sale(READ, Money(500, "CNY"))
        assert sale.state is State.APPROVED and sale.receipts_pending == 2
        pending = await r.terminal.pending_receipts()
        assert [(p.voucher, p.copy) for p in pending] == [
            (failed.voucher, "reversal_failed"),
            (sale.voucher, "customer"),
            (sale.voucher, "merchant"),
        ]
        printer.fault = None
        drained = await r.terminal.print_pending()
        assert (drained.printed, drained.pending) == (3, 0)
        assert printer.names == [
            f"reversal-failed-{failed.voucher}",
            f"{sale.voucher}-customer",
            f"{sale.voucher}-merchant",
        ]
        [slip] = _slips(r.engine)
        assert slip.printed_at is not None
        assert await r.terminal.pending_receipts() == []
