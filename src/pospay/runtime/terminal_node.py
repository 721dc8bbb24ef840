"""A running terminal: its journal, a TCP link to the host, a printer, its receipt key.

The receipt signing key is a file in `key_dir` (`runtime.keys`); without `key_dir`, a
terminal on a SQLite file keeps it in a `keys` folder next to the file (the demo's data
directory, where `pospay receipt export --data-dir` looks), and a terminal on another
database signs with a key made for this process only, and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, make_url

from pospay.clock import Clock, SystemClock
from pospay.printer import ReceiptPrinter
from pospay.runtime.keys import load_or_create_signing_key, receipt_key_path
from pospay.storage import GroupCommitter, migrate, open_engine
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal
from pospay.terminal.link import HostLink, TcpHostLink
from pospay.terminal.receipt_chain import process_receipt_key

log = logging.getLogger(__name__)


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
    key_dir: Path | None = None

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
        self.terminal = Terminal(
            self.config,
            self._committer,
            link,
            self.clock,
            self.printer,
            receipt_key=self.receipt_key(),
        )
        await self.terminal.open()
        return self.terminal

    def receipt_key(self) -> Ed25519PrivateKey:
        """This terminal's receipt signing key (see the module docstring)."""
        key_dir = self.key_dir or default_key_dir(self.url)
        if key_dir is None:
            log.warning("no key directory for %s: receipts signed with a per-process key", self.url)
            return process_receipt_key()
        return load_or_create_signing_key(receipt_key_path(key_dir, self.config.terminal_id))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._link.close()
        await self._committer.stop()
        self.engine.dispose()


def default_key_dir(url: str) -> Path | None:
    """The `keys` folder next to a SQLite database file; None for other databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).parent / "keys"
