"""A terminal that lost an answer asks the host by status query before it reverses.

The terminal talks to an in-process `HostService` through `InProcessLink`, which packs
and unpacks every message as the wire would and can lose an answer after the host acted
("drop"), hold a request back on the network ("hold": the host has not seen it, and
`deliver_held` delivers it late) or deliver it twice ("duplicate": the copy reaches the
host while the original waits at the issuer, and only the copy's answer comes back).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from databases import Database
from host_rig import GatedChannel, Host, running_host
from journal_rows import answer, chip_sale
from nodes import CONFIG, RecordingPrinter
from pospay.audit import check_agreement
from pospay.clock import SystemClock
from pospay.errors import OutcomeUnknown
from pospay.host.service import HostService
from pospay.host.tables import host_journal
from pospay.iso8583 import Message, Received, decode, encode
from pospay.iso8583.fields import transmission_field
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.storage import GroupCommitter, migrate
from pospay.terminal import journal
from pospay.terminal.card_read import CardRead
from pospay.terminal.engine import Terminal
from pospay.terminal.reversals import reversals
from pospay.terminal.status_query import Status
from pospay.transaction import Event, Method, State

CARD = TEST_CARDS[0]
CHIP = CardRead.for_test_card(CARD, Method.CARD_CHIP)


class InProcessLink:
    """A `HostLink` straight into `HostService.answer`, with faults consumed one per
    request: "drop" (the host acts, its answer is lost), "hold" (the request is delayed
    on the network and not delivered), "duplicate" (needs the host's channel gated),
    "ok"."""

    def __init__(self, service: HostService, gate: GatedChannel | None = None) -> None:
        self.service = service
        self.gate = gate
        self.faults: list[str] = []
        self.sent: list[Message] = []
        self.held: list[Message] = []

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        self.sent.append(dict(request))
        fault = self.faults.pop(0) if self.faults else "ok"
        if fault == "hold":
            self.held.append(dict(request))
            raise OutcomeUnknown("test link: request delayed on the network")
        if fault == "duplicate":
            return await self._duplicated(request)
        response = await self.service.answer(Received.from_wire(encode(request)))
        assert response is not None
        if fault == "drop":
            raise OutcomeUnknown("test link: response lost")
        return decode(encode(response))

    async def _duplicated(self, request: Message) -> Message:
        """The request twice: the copy is answered while the original is at the issuer;
        then the original finishes, and its answer is lost."""
        assert self.gate is not None, "a duplicate needs the host's channel gated"
        original = asyncio.ensure_future(self.service.answer(Received.from_wire(encode(request))))
        await self.gate.arrived.wait()
        copy = await self.service.answer(Received.from_wire(encode(request)))
        self.gate.gate.set()
        await original
        assert copy is not None
        return decode(encode(copy))

    async def deliver_held(self) -> list[Message]:
        """Deliver the held requests now, late; the host's answers (nobody waits for them)."""
        held, self.held = self.held, []
        answers = [
            await self.service.answer(Received.from_wire(encode(message))) for message in held
        ]
        return [answer for answer in answers if answer is not None]

    async def close(self) -> None:
        return None

    def mtis(self) -> list[str]:
        return [message["t"] for message in self.sent]


@dataclass
class Rig:
    host: Host
    terminal: Terminal
    link: InProcessLink
    engine: Engine
    printer: RecordingPrinter = field(default_factory=RecordingPrinter)

    def findings(self) -> dict[str, int]:
        report = check_agreement(self.engine, self.host.engine, self.host.engine)
        return {name: count for name, count in report.by_invariant().items() if count}

    def attempt(self, attempt_id: int) -> object:
        with self.engine.connect() as connection:
            return journal.attempt(connection, attempt_id)

    def reversal_queue(self) -> list[tuple[str, str]]:
        with self.engine.connect() as connection:
            return [(row.state, row.reason_code) for row in reversals(connection)]


@asynccontextmanager
async def rig(
    database: Database, tmp_path: Path, *, gate: bool | None = None, duplicate_wait: float = 5.0
) -> AsyncIterator[Rig]:
    async with running_host(database, tmp_path, gate=gate, duplicate_wait=duplicate_wait) as (
        host,
        gated,
    ):
        engine = database.engine()
        migrate(engine, "terminal")
        committer = GroupCommitter(engine)
        committer.start()
        link = InProcessLink(host.service, gated)
        printer = RecordingPrinter()
        terminal = Terminal(CONFIG, committer, link, SystemClock(), printer)
        try:
            await terminal.open()
            assert await terminal.sign_in() == "00"
            yield Rig(host, terminal, link, engine, printer)
        finally:
            await committer.stop()
            engine.dispose()


async def test_a_lost_approval_is_found_by_status_query_and_approved_with_receipts(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = ["drop"]
        outcome = await r.terminal.sale(CHIP, Money(1250, "CNY"))
        assert (outcome.state, outcome.response_code, outcome.status_queries) == (
            State.APPROVED,
            "00",
            1,
        )
        assert r.link.mtis() == ["0800", "0200", "0600"]
        assert (outcome.receipts_printed, outcome.receipts_pending) == (2, 0)
        assert r.printer.names == [f"{outcome.voucher}-customer", f"{outcome.voucher}-merchant"]
        with r.host.engine.connect() as connection:
            host_row = connection.execute(select(host_journal)).one()
        assert (outcome.rrn, outcome.auth_code) == (host_row.rrn, host_row.auth_code)
        assert r.reversal_queue() == []
        assert list(r.host.movements().values()) == [Money(1250, "CNY")]
        assert r.findings() == {}


async def test_a_lost_decline_is_found_by_status_query_and_declined(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = ["drop"]
        outcome = await r.terminal.sale(CHIP, Money(66605, "CNY"))  # magic: do not honour
        assert (outcome.state, outcome.response_code, outcome.status_queries) == (
            State.DECLINED,
            "05",
            1,
        )
        assert r.printer.names == [] and r.reversal_queue() == []
        assert r.host.movements() == {} and r.findings() == {}


async def test_a_request_the_host_never_got_is_declined_and_refused_when_it_arrives(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = ["hold"]
        outcome = await r.terminal.sale(CHIP, Money(1250, "CNY"))
        assert (outcome.state, outcome.response_code, outcome.status_queries) == (
            State.DECLINED,
            "25",
            1,
        )
        assert outcome.message_en == "Not received by the host: nothing charged"
        assert r.reversal_queue() == [] and r.printer.names == []

        [late] = await r.link.deliver_held()  # the sale arrives after all
        assert (late["t"], late["39"]) == ("0210", "25")
        assert r.host.movements() == {}
        with r.host.engine.connect() as connection:
            host_row = connection.execute(select(host_journal)).one()
        assert (host_row.state, host_row.tombstone, host_row.replays) == (
            "declined",
            "status_query",
            1,
        )
        assert r.findings() == {}
        # The terminal carries on: the next sale is approved as usual.
        after = await r.terminal.sale(CHIP, Money(300, "CNY"))
        assert after.state is State.APPROVED and after.status_queries == 0
        assert r.findings() == {}


async def test_a_request_reversed_before_it_arrives_is_refused_when_it_does(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = ["hold", "drop"]  # the sale is delayed, the query's answer lost
        outcome = await r.terminal.sale(CHIP, Money(1250, "CNY"))
        # The query did reach the host (not found); the terminal, not knowing, reversed.
        assert outcome.state is State.REVERSED and outcome.status_queries == 1
        assert r.reversal_queue() == [("confirmed", "98")]
        [late] = await r.link.deliver_held()
        assert late["39"] == "25"
        assert r.host.movements() == {} and r.findings() == {}


async def test_a_lost_answer_to_a_held_sale_reversed_first_is_refused_94(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        r.link.faults = ["hold", "hold"]  # the sale and its status query are both delayed
        outcome = await r.terminal.sale(CHIP, Money(1250, "CNY"))
        assert outcome.state is State.REVERSED  # the reversal found nothing: 25
        with r.host.engine.connect() as connection:
            tombstone = connection.execute(select(host_journal)).one()
        assert (tombstone.state, tombstone.tombstone) == ("reversed", "reversal")
        sale_late, query_late = await r.link.deliver_held()
        assert (sale_late["39"], query_late["39"]) == ("94", "25")
        assert r.host.movements() == {} and r.findings() == {}


async def test_a_94_for_a_duplicate_that_overtook_its_original_is_no_decline(
    database: Database, tmp_path: Path
) -> None:
    # The network duplicated the sale; the copy reached the host while the original was
    # at the issuer, and was refused 94 at once; the original's approval was lost. The
    # 94 says nothing of the outcome: the terminal asks, and is told the approval.
    async with rig(database, tmp_path, gate=False, duplicate_wait=0.0) as r:
        r.link.faults = ["duplicate"]
        outcome = await r.terminal.sale(CHIP, Money(1250, "CNY"))
        with r.host.engine.connect() as connection:
            host_row = connection.execute(select(host_journal)).one()
        assert (host_row.state, host_row.response_code) == ("approved", "00")
        assert (host_row.replays, host_row.last_replay_code) == (1, "94")
        assert (outcome.state, outcome.response_code, outcome.status_queries) == (
            State.APPROVED,
            "00",
            1,
        )
        assert r.link.mtis() == ["0800", "0200", "0600"]
        assert (outcome.receipts_printed, outcome.receipts_pending) == (2, 0)
        assert list(r.host.movements().values()) == [Money(1250, "CNY")]
        assert r.reversal_queue() == [] and r.findings() == {}


async def test_query_status_asks_and_changes_nothing(database: Database, tmp_path: Path) -> None:
    async with rig(database, tmp_path) as r:
        outcome = await r.terminal.sale(CHIP, Money(800, "CNY"))
        assert outcome.approved and outcome.status_queries == 0
        before = r.attempt(outcome.attempt_id)
        report = await r.terminal.query_status(outcome.attempt_id)
        assert report.status is Status.DONE and report.answer is not None
        assert (report.answer["t"], report.answer["39"], report.answer["37"]) == (
            "0210",
            "00",
            outcome.rrn,
        )
        assert r.attempt(outcome.attempt_id) == before
        assert list(r.host.movements().values()) == [Money(800, "CNY")]
        r.link.faults = ["drop"]
        failed = await r.terminal.query_status(outcome.attempt_id)
        assert failed.status is Status.FAILED and failed.answer is None
        assert r.findings() == {}


async def test_an_attempt_left_unknown_by_a_restart_is_queued_for_reversal(
    database: Database, tmp_path: Path
) -> None:
    async with rig(database, tmp_path) as r:
        now = SystemClock().now()
        record = chip_sale(CONFIG.terminal_id, 990, "621234******0012", transmission_field(now))
        with r.engine.begin() as connection:
            # Recorded UNKNOWN, then the terminal stopped before its status query.
            row = journal.record_attempt(connection, record, now)
            answer(connection, row.id, Event.TIME_OUT, now)
        await r.terminal.open()  # the restart
        assert r.reversal_queue() == [("pending", "98")]
        [status] = await r.terminal.flush_reversals()
        assert status.response_code == "25"
        assert r.findings() == {}
