"""Running host and terminal nodes together for a test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from databases import Database
from pospay.errors import PrinterFault
from pospay.printer import ReceiptPrinter
from pospay.runtime import HostNode, TerminalNode
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal

CONFIG = TerminalConfig(
    terminal_id="20000001", merchant_id="898310048160002", merchant_name="测试商户 TEST SHOP"
)


@asynccontextmanager
async def host_node(database: Database, key_dir: Path, **options: Any) -> AsyncIterator[HostNode]:
    """A host on `database` (issuer in the same database); `options` go to `HostNode`."""
    node = HostNode(
        database.url, database.url, key_dir, iso_port=0, schema=database.schema, **options
    )
    async with node:
        yield node


@asynccontextmanager
async def terminal_node(
    database: Database, host: HostNode, printer: ReceiptPrinter, config: TerminalConfig = CONFIG
) -> AsyncIterator[Terminal]:
    node = TerminalNode(
        config, database.url, "127.0.0.1", host.port, printer, schema=database.schema
    )
    async with node as terminal:
        yield terminal


class RecordingPrinter:
    """A printer that keeps every job it printed, in order, and can be broken:
    `fault` set (a PrinterFault reason) refuses every job; `fail_after` n prints n more
    jobs and then faults. `tries` counts every job it was handed, printed or not."""

    def __init__(self, fault: str | None = None) -> None:
        self.fault = fault
        self.fail_after: int | None = None
        self.jobs: list[tuple[str, bytes, str]] = []
        self.tries = 0

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        self.tries += 1
        if self.fail_after is not None:
            if self.fail_after <= 0:
                raise PrinterFault("paper_out")
            self.fail_after -= 1
        if self.fault is not None:
            raise PrinterFault(self.fault)
        self.jobs.append((name, escpos, text))

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.jobs]
