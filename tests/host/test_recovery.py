"""The host recovery job: attempts the host left sent, unknown or reversal-pending are
resolved with the channel, never resurrected by a late answer, and agree with the issuer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Row, select

from databases import Database
from host_messages import CARD, MERCHANT, SIGN_IN, TERMINAL, sale
from nodes import terminal_node
from pospay.audit import check_agreement
from pospay.channels import CardAuthorisation, CardChannel, CardResult
from pospay.clock import SystemClock
from pospay.host.recovery import RecoveryReport, recover
from pospay.host.reversals import reversals
from pospay.host.service import HostService
from pospay.host.settings import HostSettings
from pospay.host.tables import host_journal
from pospay.iso8583 import Message
from pospay.iso8583.messages import original_data_field
from pospay.issuer import IssuerSimulator
from pospay.issuer.ledger import approved_movements
from pospay.money import Money
from pospay.printer import DirectoryPrinter
from pospay.runtime import HostNode, load_or_create_key
from pospay.storage import GroupCommitter, migrate
from pospay.terminal.card_read import CardRead
from pospay.transaction import Kind, Method, State

DECLINED_AMOUNT = 66605  # the issuer's magic amount: do not honour (05)


class FaultyChannel:
    """The issuer behind a link that loses authorisation answers.

    `mode` "before": the authorisation never reaches the issuer; "after": the issuer
    decides it, the answer is lost. Until `gate` opens; then it goes on normally.
    Reversals and status queries pass through (`reverse_hangs` loses reversals).
    """

    def __init__(self, issuer: IssuerSimulator, mode: str = "after") -> None:
        self.issuer = issuer
        self.mode = mode
        self.arrived = asyncio.Event()
        self.gate = asyncio.Event()
        self.reverse_hangs = False

    async def authorise(self, request: CardAuthorisation) -> CardResult:
        if self.mode == "before":
            self.arrived.set()
            await self.gate.wait()
            return await self.issuer.authorise(request)
        result = await self.issuer.authorise(request)
        self.arrived.set()
        await self.gate.wait()
        return result

    async def reverse(self, reference: str) -> CardResult:
        if self.reverse_hangs:
            await asyncio.Event().wait()
        return await self.issuer.reverse(reference)

    async def query(self, reference: str) -> CardResult | None:
        return await self.issuer.query(reference)


@dataclass
class Host:
    service: HostService
    issuer: IssuerSimulator
    channel: FaultyChannel
    committer: GroupCommitter
    engine: Engine

    async def recover(self, channel: CardChannel | None = None) -> RecoveryReport:
        return await recover(
            self.committer, channel or self.issuer, SystemClock(), grace=0, channel_timeout=5
        )

    def row(self, stan: str) -> Row[Any]:
        with self.engine.connect() as connection:
            return connection.execute(select(host_journal).where(host_journal.c.stan == stan)).one()

    def movements(self) -> dict[str, Money]:
        with self.engine.connect() as connection:
            return dict(approved_movements(connection))


@asynccontextmanager
async def running_host(
    database: Database, key_dir: Path, mode: str = "after", channel_timeout: float = 10.0
) -> AsyncIterator[Host]:
    engine = database.engine()
    migrate(engine, "host", "issuer")
    committer = GroupCommitter(engine)
    committer.start()
    clock = SystemClock()
    issuer = IssuerSimulator(committer, clock, pan_key=load_or_create_key(key_dir / "i.key"))
    await issuer.install_test_cards()
    channel = FaultyChannel(issuer, mode)
    settings = HostSettings(
        pan_key=load_or_create_key(key_dir / "h.key"), channel_timeout=channel_timeout
    )
    service = HostService(committer, channel, clock, settings)
    try:
        assert (await service.handle(SIGN_IN) or {}).get("39") == "00"
        yield Host(service, issuer, channel, committer, engine)
    finally:
        await committer.stop()
        engine.dispose()


def void(original: Message, rrn: str, stan: str) -> Message:
    return {
        "t": "0200",
        "3": "200000",
        "4": original["4"],
        "7": "1126100500",
        "11": stan,
        "12": "100500",
        "13": "1126",
        "25": "00",
        "37": rrn,
        "41": TERMINAL,
        "42": MERCHANT,
        "49": "156",
        "60": "000001",
    }


def reversal(original: Message, stan: str) -> Message:
    return {
        "t": "0400",
        "3": original["3"],
        "4": original["4"],
        "7": "1126100100",
        "11": stan,
        "39": "98",
        "41": TERMINAL,
        "42": MERCHANT,
        "49": original["49"],
        "60": original["60"],
        "90": original_data_field(original["t"], original["11"], original["7"]),
    }


async def answer(host: Host, message: Message) -> Message:
    response = await host.service.handle(message)
    assert response is not None
    return response


async def crash_in_flight(host: Host, request: Message) -> None:
    """The host dies while the request is with the channel: its row stays SENT."""
    host.channel.arrived.clear()
    in_flight = asyncio.create_task(host.service.handle(request))
    await host.channel.arrived.wait()
    in_flight.cancel()
    with pytest.raises(asyncio.CancelledError):
        await in_flight


async def test_a_sent_row_the_issuer_approved_is_recovered_approved(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path, mode="after") as host:
        await crash_in_flight(host, sale("000002", 1250))
        assert State(host.row("000002").state) is State.SENT
        stored = await host.issuer.query(host.row("000002").rrn)
        assert stored is not None and stored.response_code == "00"

        report = await host.recover()

        row = host.row("000002")
        assert State(row.state) is State.APPROVED
        assert (row.response_code, row.auth_code) == ("00", stored.auth_code)
        assert row.reason.startswith("resolved by recovery")
        assert [(r.rrn, r.was, r.now) for r in report.resolved] == [
            (row.rrn, State.SENT, State.APPROVED)
        ]
        assert host.movements() == {row.rrn: Money(1250, "CNY")}


async def test_a_sent_row_the_issuer_never_saw_is_final_and_never_authorised_later(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path, mode="before") as host:
        request = sale("000002", 1250)
        await crash_in_flight(host, request)
        rrn = host.row("000002").rrn

        report = await host.recover()

        assert [(r.was, r.now) for r in report.resolved] == [(State.SENT, State.REVERSED)]
        assert State(host.row("000002").state) is State.REVERSED
        # The forward the crash interrupted reaches the issuer at last: refused.
        late = CardAuthorisation(
            reference=rrn,
            kind=Kind.SALE,
            pan=CARD.pan,
            expiry=CARD.expiry,
            amount=Money(1250, "CNY"),
            merchant_id=MERCHANT,
            terminal_id=TERMINAL,
            at=datetime(2026, 11, 26),
            method=Method.CARD_MANUAL,
        )
        assert (await host.issuer.authorise(late)).response_code == "25"
        assert host.movements() == {}
        # The terminal's reversal is answered 00 and changes nothing.
        assert (await answer(host, reversal(request, "000003")))["39"] == "00"
        assert State(host.row("000002").state) is State.REVERSED


@pytest.mark.parametrize(
    ("mode", "minor", "final", "moved"),
    [
        ("after", 1250, State.REVERSED, False),  # the issuer approved after the 91
        ("after", DECLINED_AMOUNT, State.DECLINED, False),  # the issuer declined
        ("before", 1250, State.REVERSED, False),  # the issuer never saw it
    ],
    ids=["approved", "declined", "unseen"],
)
async def test_an_unknown_row_after_a_channel_timeout_is_resolved(
    database: Database, tmp_path: Path, mode: str, minor: int, final: State, moved: bool
) -> None:
    async with running_host(database, tmp_path, mode=mode, channel_timeout=0.2) as host:
        response = await answer(host, sale("000002", minor))
        assert response["39"] == "91"  # the terminal records this as a decline
        assert State(host.row("000002").state) is State.UNKNOWN

        report = await host.recover()

        row = host.row("000002")
        assert [(r.was, r.now) for r in report.resolved] == [(State.UNKNOWN, final)]
        assert State(row.state) is final
        assert row.response_code == "91"  # what the terminal was told, and replays get
        assert bool(host.movements()) is moved
        replay = await answer(host, sale("000002", minor))
        assert replay["39"] == "91"


async def test_a_reversal_pending_row_is_reversed_and_its_money_returned(
    database: Database, tmp_path: Path
) -> None:
    # Only the reversal must time out (it hangs); the sale needs time to be approved even
    # on a loaded machine, so the timeout is not the shortest the other tests use.
    async with running_host(database, tmp_path, channel_timeout=2.0) as host:
        host.channel.gate.set()
        original = sale("000002", 4200)
        assert (await answer(host, original))["39"] == "00"
        host.channel.reverse_hangs = True
        request = reversal(original, "000003")
        assert (await answer(host, request))["39"] == "91"
        assert State(host.row("000002").state) is State.REVERSAL_PENDING
        assert len(host.movements()) == 1

        report = await host.recover()

        assert [(r.was, r.now) for r in report.resolved] == [
            (State.REVERSAL_PENDING, State.REVERSED)
        ]
        assert State(host.row("000002").state) is State.REVERSED
        assert host.movements() == {}
        with host.engine.connect() as connection:
            [stored] = reversals(connection)
        assert stored.response_code == "00"
        assert (await answer(host, request))["39"] == "00"  # the retry gets the answer


async def test_a_void_left_sent_is_recovered_and_voids_its_original(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path, mode="after") as host:
        host.channel.gate.set()
        original = sale("000002", 3000)
        approved = await answer(host, original)
        assert approved["39"] == "00"
        host.channel.gate.clear()
        await crash_in_flight(host, void(original, approved["37"], "000003"))
        assert State(host.row("000003").state) is State.SENT

        await host.recover()

        assert State(host.row("000003").state) is State.APPROVED
        assert State(host.row("000002").state) is State.VOIDED
        assert host.movements() == {}


@pytest.mark.parametrize(
    ("mode", "final", "code"),
    [("after", State.APPROVED, "00"), ("before", State.REVERSED, "25")],
    ids=["approved-then-timeout", "unseen-then-late-answer"],
)
async def test_a_late_channel_answer_after_recovery_resurrects_nothing(
    database: Database, tmp_path: Path, mode: str, final: State, code: str
) -> None:
    timeout = 1.0 if mode == "after" else 10.0
    async with running_host(database, tmp_path, mode=mode, channel_timeout=timeout) as host:
        in_flight = asyncio.create_task(host.service.handle(sale("000002", 1500)))
        await host.channel.arrived.wait()

        await host.recover()  # grace 0: it races the live request on purpose
        assert State(host.row("000002").state) is final

        if mode == "before":
            host.channel.gate.set()  # the answer comes (the issuer refuses: tombstone)
        late = await in_flight  # after "after": the channel times out on a final row
        assert late is not None and late["39"] == code
        assert State(host.row("000002").state) is final
        assert bool(host.movements()) is (final is State.APPROVED)


async def test_running_recovery_twice_changes_nothing_the_second_time(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path, mode="before", channel_timeout=0.2) as host:
        await crash_in_flight(host, sale("000002", 100, "1126100000"))
        await answer(host, sale("000003", 200, "1126100001"))  # UNKNOWN
        # Two jobs at once (as two host processes would): each row is resolved once.
        first, second = await asyncio.gather(host.recover(), host.recover())
        assert len(first.resolved) + len(second.resolved) == 2
        assert first.skipped + second.skipped == first.examined + second.examined - 2
        with host.engine.connect() as connection:
            before = list(connection.execute(select(host_journal).order_by(host_journal.c.id)))
        again = await host.recover()
        assert (again.examined, again.resolved, again.unresolved) == (0, [], [])
        with host.engine.connect() as connection:
            after = list(connection.execute(select(host_journal).order_by(host_journal.c.id)))
        assert before == after


def card() -> CardRead:
    return CardRead.for_test_card(CARD, Method.CARD_CHIP)


async def test_host_and_terminal_agree_after_recovery_of_a_lost_answer(
    database: Database, tmp_path: Path
) -> None:
    """The issuer approved, its answer was lost, the host answered 91 and the terminal
    declined: recovery gives the money back, and the three records agree."""
    channels: list[FaultyChannel] = []

    def lossy(issuer: IssuerSimulator) -> CardChannel:
        channels.append(FaultyChannel(issuer, "after"))
        return channels[0]

    node = HostNode(
        database.url,
        database.url,
        tmp_path / "keys",
        iso_port=0,
        schema=database.schema,
        channel_timeout=0.3,
        recovery_interval=None,
        channel_for=lossy,
    )
    async with node as host:
        async with terminal_node(database, host, DirectoryPrinter(tmp_path / "r")) as terminal:
            assert await terminal.sign_in() == "00"
            outcome = await terminal.sale(card(), Money(1250, "CNY"))
        assert outcome.state is State.DECLINED and outcome.response_code == "91"
        before = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert not before.agreement  # host unknown, money moved at the issuer

        report = await host.recovery.run_once(grace=0)

        assert [(r.was, r.now) for r in report.resolved] == [(State.UNKNOWN, State.REVERSED)]
        after = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert after.agreement, after.findings


async def test_a_restarted_host_recovers_at_start_up_and_then_periodically(
    database: Database, tmp_path: Path
) -> None:
    def node(**options: Any) -> HostNode:
        return HostNode(
            database.url,
            database.url,
            tmp_path / "keys",
            iso_port=0,
            schema=database.schema,
            **options,
        )

    channels: list[FaultyChannel] = []

    def lossy(issuer: IssuerSimulator) -> CardChannel:
        channels.append(FaultyChannel(issuer, "after"))
        return channels[-1]

    request = sale("000002", 1250)
    async with node(recovery_interval=None, channel_for=lossy) as first:
        assert (await first.service.handle(sign_in_message()) or {}).get("39") == "00"
        in_flight = asyncio.create_task(first.service.handle(request))
        await channels[0].arrived.wait()
        in_flight.cancel()  # the host dies with the answer on its way
        with pytest.raises(asyncio.CancelledError):
            await in_flight
        assert first.startup_recovery.examined == 0

    # The grace exceeds the channel timeout, so the job never races a live request.
    periodic = {"recovery_interval": 0.05, "recovery_grace": 0.5, "channel_timeout": 0.2}
    async with node(channel_for=lossy, **periodic) as second:
        [resolution] = second.startup_recovery.resolved
        assert (resolution.was, resolution.now) == (State.SENT, State.APPROVED)
        # A lost answer now (the issuer's answer never comes) is resolved in the background.
        response = await second.service.handle(sale("000004", 700, "1126100002"))
        assert response is not None and response["39"] == "91"
        for _ in range(100):
            with second.host_engine.connect() as connection:
                state = connection.execute(
                    select(host_journal.c.state).where(host_journal.c.stan == "000004")
                ).scalar_one()
            if state == State.REVERSED.value:
                break
            await asyncio.sleep(0.05)
        assert state == State.REVERSED.value
        assert second.recovery.runs > 1


def sign_in_message() -> Message:
    return {
        "t": "0800",
        "7": "1126090000",
        "11": "000001",
        "41": TERMINAL,
        "42": MERCHANT,
        "60": "000001",
        "70": "001",
    }
