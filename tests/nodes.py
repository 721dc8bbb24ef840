"""Running host and terminal nodes together for a test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from databases import Database
from pospay.printer import ReceiptPrinter
from pospay.runtime import HostNode, TerminalNode
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal

CONFIG = TerminalConfig(
    terminal_id="20000001", merchant_id="898310048160002", merchant_name="测试商户 TEST SHOP"
)


@asynccontextmanager
async def host_node(database: Database, key_dir: Path) -> AsyncIterator[HostNode]:
    node = HostNode(database.url, database.url, key_dir, iso_port=0, schema=database.schema)
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
