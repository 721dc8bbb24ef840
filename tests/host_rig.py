"""A host for tests that drive `HostService.handle` directly: real storage, the issuer
simulator as its channel (optionally behind a gate), signed in as the test terminal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from databases import Database
from host_messages import SIGN_IN
from pospay.channels import CardAuthorisation, CardChannel, CardResult
from pospay.clock import SystemClock
from pospay.host.service import HostService
from pospay.host.settings import HostSettings
from pospay.host.tables import host_journal
from pospay.iso8583 import Message
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
        self.reversals: list[str] = []  # the references the host asked it to reverse

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
        self.reversals.append(reference)
        return await self.issuer.reverse(reference)

    async def query(self, reference: str) -> CardResult | None:
        return await self.issuer.query(reference)


@asynccontextmanager
async def running_host(
    database: Database,
    key_dir: Path,
    gate: bool | None = None,
    channel_timeout: float = 10.0,
    duplicate_wait: float = 5.0,
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
        pan_key=load_or_create_key(key_dir / "h.key"),
        channel_timeout=channel_timeout,
        duplicate_wait=duplicate_wait,
    )
    service = HostService(committer, channel, clock, settings)
    try:
        assert (await service.handle(SIGN_IN) or {}).get("39") == "00"
        yield Host(service, issuer, engine), gated
    finally:
        await committer.stop()
        engine.dispose()


async def answer(host: Host, message: Message) -> Message:
    response = await host.service.handle(message)
    assert response is not None
    return response
