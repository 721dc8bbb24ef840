"""The host's handling of reversals (0400/0410), driven through `HostService.handle`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from databases import Database
from host_messages import MERCHANT, SIGN_IN, TERMINAL, sale
from pospay.channels import CardAuthorisation, CardChannel, CardResult
from pospay.clock import SystemClock
from pospay.host.reversals import reversals
from pospay.host.service import HostService, HostSettings
from pospay.host.tables import host_journal
from pospay.iso8583 import Message
from pospay.iso8583.fields import amount_field
from pospay.iso8583.messages import original_data_field
from pospay.issuer import IssuerSimulator
from pospay.issuer.ledger import approved_movements
from pospay.issuer.tables import issuer_entry
from pospay.runtime import load_or_create_key
from pospay.storage import GroupCommitter, migrate
from pospay.transaction import State


@dataclass
class Host:
    service: HostService
    issuer: IssuerSimulator
    engine: Engine

    def state_of(self, stan: str) -> State:
        with self.engine.connect() as connection:
            return State(
                connection.execute(
                    select(host_journal.c.state).where(host_journal.c.stan == stan)
                ).scalar_one()
            )

    def movements(self) -> dict[str, object]:
        with self.engine.connect() as connection:
            return dict(approved_movements(connection))

    def reversal_entries(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(issuer_entry)
                    .where(issuer_entry.c.purpose == "reversal")
                ).scalar_one()
            )


class GatedChannel:
    """The issuer, with authorisations held at a gate: before the issuer sees them, or
    after it answered but before the host gets the answer."""

    def __init__(self, issuer: IssuerSimulator, *, hold_before_issuer: bool) -> None:
        self.issuer = issuer
        self.hold_before_issuer = hold_before_issuer
        self.arrived = asyncio.Event()
        self.gate = asyncio.Event()

    async def authorise(self, request: CardAuthorisation) -> CardResult:
        if self.hold_before_issuer:
            self.arrived.set()
            await self.gate.wait()
            return await self.issuer.authorise(request)
        result = await self.issuer.authorise(request)
        self.arrived.set()
        await self.gate.wait()
        return result

    async def reverse(self, reference: str) -> CardResult:
        return await self.issuer.reverse(reference)

    async def query(self, reference: str) -> CardResult | None:
        return await self.issuer.query(reference)


@asynccontextmanager
async def running_host(
    database: Database, key_dir: Path, gate: bool | None = None, channel_timeout: float = 10.0
) -> AsyncIterator[tuple[Host, GatedChannel | None]]:
    engine = database.engine()
    migrate(engine, "host", "issuer")
    committer = GroupCommitter(engine)
    committer.start()
    clock = SystemClock()
    issuer = IssuerSimulator(committer, clock, pan_key=load_or_create_key(key_dir / "i.key"))
    await issuer.install_test_cards()
    gated = None if gate is None else GatedChannel(issuer, hold_before_issuer=gate)
    channel: CardChannel = issuer if gated is None else gated
    settings = HostSettings(
        pan_key=load_or_create_key(key_dir / "h.key"), channel_timeout=channel_timeout
    )
    service = HostService(committer, channel, clock, settings)
    try:
        assert (await service.handle(SIGN_IN) or {}).get("39") == "00"
        yield Host(service, issuer, engine), gated
    finally:
        await committer.stop()
        engine.dispose()


def reversal(original: Message, stan: str, reason: str = "98") -> Message:
    return {
        "t": "0400",
        "3": original["3"],
        "4": original["4"],
        "7": "1126100100",
        "11": stan,
        "39": reason,
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


async def test_an_approved_sale_is_reversed_and_its_money_returned(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 1250)
        assert (await answer(host, original))["39"] == "00"
        assert len(host.movements()) == 1
        response = await answer(host, reversal(original, "000003"))
        assert response["t"] == "0410" and response["39"] == "00"
        assert (response["11"], response["4"]) == ("000003", amount_field(1250))
        assert "2" not in response
        assert host.state_of("000002") is State.REVERSED
        assert host.movements() == {}
        with host.engine.connect() as connection:
            [stored] = reversals(connection)
        assert (stored.reason_code, stored.response_code) == ("98", "00")
        assert stored.original_id is not None


async def test_a_repeated_reversal_replays_its_answer_and_reverses_once(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 700)
        await answer(host, original)
        request = reversal(original, "000003")
        answers = [await answer(host, request) for _ in range(3)]
        assert answers[0] == answers[1] == answers[2]
        assert answers[0]["39"] == "00"
        assert host.reversal_entries() == 1
        with host.engine.connect() as connection:
            assert len(reversals(connection)) == 1


async def test_a_reversal_of_an_unseen_original_is_answered_25_and_recorded(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        response = await answer(host, reversal(sale("000009", 500), "000010", reason="06"))
        assert response["39"] == "25"
        with host.engine.connect() as connection:
            [stored] = reversals(connection)
            journal_rows = connection.execute(select(func.count()).select_from(host_journal))
            assert journal_rows.scalar_one() == 0
        assert (stored.original_id, stored.response_code, stored.reason_code) == (None, "25", "06")


async def test_a_reversal_of_a_declined_original_changes_nothing(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 66605)  # magic amount: do not honour
        assert (await answer(host, original))["39"] == "05"
        response = await answer(host, reversal(original, "000003"))
        assert response["39"] == "00"
        assert host.state_of("000002") is State.DECLINED
        assert host.reversal_entries() == 0 and host.movements() == {}


@pytest.mark.parametrize("hold_before_issuer", [True, False], ids=["issuer-late", "host-late"])
async def test_a_late_authorisation_never_resurrects_a_reversed_original(
    database: Database, tmp_path: Path, hold_before_issuer: bool
) -> None:
    """The reversal overtakes the authorisation it reverses, at the issuer or at the host."""
    async with running_host(database, tmp_path, gate=hold_before_issuer) as (host, gated):
        assert gated is not None
        original = sale("000002", 4200)
        in_flight = asyncio.create_task(host.service.handle(original))
        await gated.arrived.wait()
        assert host.state_of("000002") is State.SENT
        response = await answer(host, reversal(original, "000003"))
        assert response["39"] == "00"
        assert host.state_of("000002") is State.REVERSED
        gated.gate.set()
        late = await in_flight
        assert late is not None
        # The issuer refused the late authorisation (its tombstone), or had already
        # approved it and then reversed it: either way no money stays moved.
        assert late["39"] == ("25" if hold_before_issuer else "00")
        assert host.state_of("000002") is State.REVERSED
        assert host.movements() == {}


async def test_a_reversal_with_a_broken_field_90_is_a_format_error(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        request = reversal(sale("000002", 100), "000003")
        request["90"] = "0200" + "9" * 30  # too short
        assert (await answer(host, request))["39"] == "30"
        del request["90"]
        assert (await answer(host, request))["39"] == "30"
        with host.engine.connect() as connection:
            assert reversals(connection) == []


async def test_an_issuer_timeout_after_the_reversal_leaves_the_original_reversed(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path, gate=True, channel_timeout=0.3) as (host, gated):
        assert gated is not None
        original = sale("000002", 4200)
        in_flight = asyncio.create_task(host.service.handle(original))
        await gated.arrived.wait()
        assert (await answer(host, reversal(original, "000003")))["39"] == "00"
        late = await in_flight  # the issuer never answers it in time
        assert late is not None and late["39"] == "91"
        assert host.state_of("000002") is State.REVERSED
        gated.gate.set()
        assert host.movements() == {}
