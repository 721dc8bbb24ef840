"""A running acquiring host: host journal, issuer simulator and the ISO 8583 server.

Used by `pospay serve`, the demo, the benchmarks and the end-to-end tests, so they
all exercise the same wiring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine

from pospay.clock import Clock, SystemClock
from pospay.host.server import IsoServer
from pospay.host.service import HostService, HostSettings
from pospay.issuer import IssuerSimulator
from pospay.runtime.keys import load_or_create_key
from pospay.storage import GroupCommitter, migrate, open_engine


@dataclass
class HostNode:
    """Host and issuer simulator on `host_url` / `issuer_url`, listening on `iso_port`."""

    host_url: str
    issuer_url: str
    key_dir: Path
    iso_host: str = "127.0.0.1"
    iso_port: int = 8583
    clock: Clock = field(default_factory=SystemClock)
    schema: str | None = None

    host_engine: Engine = field(init=False)
    issuer_engine: Engine = field(init=False)
    server: IsoServer = field(init=False)
    # The host's core, socket-free: what the server calls for each decoded request.
    service: HostService = field(init=False)
    issuer: IssuerSimulator = field(init=False)
    _committers: list[GroupCommitter] = field(init=False, default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    async def __aenter__(self) -> HostNode:
        self.host_engine = open_engine(self.host_url, schema=self.schema)
        self.issuer_engine = (
            self.host_engine
            if self.issuer_url == self.host_url
            else open_engine(self.issuer_url, schema=self.schema)
        )
        migrate(self.host_engine, "host")
        migrate(self.issuer_engine, "issuer")
        host_committer = GroupCommitter(self.host_engine)
        issuer_committer = (
            host_committer
            if self.issuer_engine is self.host_engine
            else GroupCommitter(self.issuer_engine)
        )
        self._committers = list({id(c): c for c in (host_committer, issuer_committer)}.values())
        for committer in self._committers:
            committer.start()
        self.issuer = IssuerSimulator(
            issuer_committer,
            self.clock,
            pan_key=load_or_create_key(self.key_dir / "issuer-pan.key"),
        )
        await self.issuer.install_test_cards()
        self.service = service = HostService(
            host_committer,
            self.issuer,
            self.clock,
            HostSettings(
                pan_key=load_or_create_key(self.key_dir / "host-pan.key"),
                key_encryption_key=load_or_create_key(self.key_dir / "host-kek.key"),
            ),
        )
        self.server = IsoServer(service, host=self.iso_host, port=self.iso_port)
        await self.server.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.server.stop()
        for committer in self._committers:
            await committer.stop()
        self.host_engine.dispose()
        self.issuer_engine.dispose()
