"""A running terminal: its journal, a TCP link to the host, a printer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from sqlalchemy import Engine

from pospay.clock import Clock, SystemClock
from pospay.printer import ReceiptPrinter
from pospay.storage import GroupCommitter, migrate, open_engine
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal
from pospay.terminal.link import HostLink, TcpHostLink


@dataclass
class TerminalNode:
    config: TerminalConfig
    url: str
    host: str
    port: int
    printer: ReceiptPrinter
    clock: Clock = field(default_factory=SystemClock)
    schema: str | None = None
    # What stands between the terminal and its TCP link (`demo --faults` loses messages).
    link_for: Callable[[HostLink], HostLink] | None = None

    engine: Engine = field(init=False)
    terminal: Terminal = field(init=False)
    _committer: GroupCommitter = field(init=False)
    _link: TcpHostLink = field(init=False)

    async def __aenter__(self) -> Terminal:
        self.engine = open_engine(self.url, schema=self.schema)
        migrate(self.engine, "terminal")
        self._committer = GroupCommitter(self.engine)
        self._committer.start()
        self._link = TcpHostLink(self.host, self.port)
        link = self._link if self.link_for is None else self.link_for(self._link)
        self.terminal = Terminal(self.config, self._committer, link, self.clock, self.printer)
        await self.terminal.open()
        return self.terminal

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._link.close()
        await self._committer.stop()
        self.engine.dispose()
