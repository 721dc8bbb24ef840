"""`pospay serve`: the acquiring host, the card issuer simulator and the host's prepaid
programme, for other terminals."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import typer

from pospay.prepaid import TEST_PREPAID_BIN, TEST_PROGRAMME, Programme
from pospay.runtime import HostNode
from pospay.storage.database import sqlite_url


def serve(
    db: Annotated[
        str | None, typer.Option(help="Host database URL (default: SQLite in --data-dir).")
    ] = None,
    issuer_db: Annotated[
        str | None, typer.Option(help="Issuer simulator database URL (default: same as --db).")
    ] = None,
    iso_port: Annotated[int, typer.Option(help="TCP port for ISO 8583 terminals.")] = 8583,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: Annotated[
        Path, typer.Option(help="Keys, and SQLite files when no URL is given.")
    ] = Path("pospay-data"),
    recovery_interval: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds between runs of the recovery job that resolves attempts left "
            "sent, unknown or reversal-pending (it also runs once at start-up).",
        ),
    ] = 10.0,
    recovery_grace: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds an attempt must be left alone before a periodic recovery run "
            "touches it (keep it above the channel timeout, 10 s).",
        ),
    ] = 30.0,
    startup_recovery_grace: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="The same at start-up: 0 for a single host; with several host processes "
            "on one database, above the channel timeout.",
        ),
    ] = 0.0,
    prepaid_bin: Annotated[
        list[str] | None,
        typer.Option(
            help="A BIN (6 to 11 digits) of the host's prepaid programme, repeatable; "
            f"default {TEST_PREPAID_BIN}, the test programme's.",
        ),
    ] = None,
) -> None:
    """Serve terminals over ISO 8583/TCP until Ctrl-C or SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True
    )
    try:
        programme = replace(TEST_PROGRAMME, bins=tuple(prepaid_bin or TEST_PROGRAMME.bins))
    except ValueError as fault:
        typer.echo(f"pospay serve: --prepaid-bin: {fault}", err=True)
        raise typer.Exit(2) from None
    host_url = db or sqlite_url(data_dir / "host.db")
    issuer_url = issuer_db or (db if db else sqlite_url(data_dir / "issuer.db"))
    try:
        recovery = _Recovery(recovery_interval, recovery_grace, startup_recovery_grace)
        asyncio.run(_serve(host_url, issuer_url, data_dir, host, iso_port, recovery, programme))
    except OSError as error:
        typer.echo(f"pospay serve: cannot listen on {host}:{iso_port}: {error}", err=True)
        raise typer.Exit(2) from None


@dataclass(frozen=True)
class _Recovery:
    interval: float
    grace: float
    startup_grace: float


async def _serve(
    host_url: str,
    issuer_url: str,
    data_dir: Path,
    host: str,
    port: int,
    recovery: _Recovery,
    programme: Programme,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with HostNode(
        host_url,
        issuer_url,
        data_dir / "keys",
        iso_host=host,
        iso_port=port,
        recovery_interval=recovery.interval,
        recovery_grace=recovery.grace,
        startup_recovery_grace=recovery.startup_grace,
        programme=programme,
    ) as node:
        report = node.startup_recovery
        typer.echo(
            f"pospay host recovery at start-up: {len(report.resolved)} attempts resolved, "
            f"{len(report.unresolved)} left for the next run",
            err=True,
        )
        typer.echo(
            f"pospay host listening on {host}:{node.port} (ISO 8583, 2-byte length header)",
            err=True,
        )
        await stop.wait()
        typer.echo("pospay host stopping", err=True)
