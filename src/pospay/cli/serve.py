"""`pospay serve`: the acquiring host and the card issuer simulator, for other terminals."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

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
) -> None:
    """Serve terminals over ISO 8583/TCP until Ctrl-C or SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True
    )
    host_url = db or sqlite_url(data_dir / "host.db")
    issuer_url = issuer_db or (db if db else sqlite_url(data_dir / "issuer.db"))
    try:
        asyncio.run(_serve(host_url, issuer_url, data_dir, host, iso_port))
    except OSError as error:
        typer.echo(f"pospay serve: cannot listen on {host}:{iso_port}: {error}", err=True)
        raise typer.Exit(2) from None


async def _serve(host_url: str, issuer_url: str, data_dir: Path, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with HostNode(
        host_url, issuer_url, data_dir / "keys", iso_host=host, iso_port=port
    ) as node:
        typer.echo(
            f"pospay host listening on {host}:{node.port} (ISO 8583, 2-byte length header)",
            err=True,
        )
        await stop.wait()
        typer.echo("pospay host stopping", err=True)
