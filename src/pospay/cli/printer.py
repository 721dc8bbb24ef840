"""`pospay printer serve`: a virtual network thermal printer for terminals and the demo."""

from __future__ import annotations

import asyncio
import logging
import signal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pospay.errors import FontMissing
from pospay.printer.render import font_path
from pospay.printer.virtual import PAPER_DOTS, PrinterServer

printer_app = typer.Typer(
    name="printer", help="Receipt printers: a virtual network printer.", no_args_is_help=True
)


class Fault(StrEnum):
    PAPER_OUT = "paper_out"
    NEAR_END = "near_end"
    COVER_OPEN = "cover_open"
    JAM = "jam"
    OFFLINE = "offline"


@printer_app.command()
def serve(
    port: Annotated[int, typer.Option(min=0, max=65535, help="ESC/POS port (0: any).")] = 9100,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    out: Annotated[Path, typer.Option(help="Where each job is written (NNNN.txt, NNNN.png).")] = (
        Path("pospay-printer")
    ),
    paper: Annotated[int, typer.Option(help="Paper width in mm: 58 or 80.")] = 80,
    fault: Annotated[
        list[Fault] | None, typer.Option(help="Start in this fault (repeatable).")
    ] = None,
    delay: Annotated[
        float, typer.Option(min=0.0, max=3600.0, help="Seconds each job takes to print.")
    ] = 0.0,
    control_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Control port (default: --port + 1, or any)."),
    ] = None,
) -> None:
    """Accept raw ESC/POS like a thermal printer on port 9100, until Ctrl-C or SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True
    )
    if paper not in PAPER_DOTS:
        typer.echo(f"pospay printer serve: --paper {paper}: 58 or 80", err=True)
        raise typer.Exit(2)
    try:
        font_path()
    except FontMissing as error:
        typer.echo(f"pospay printer serve: {error}", err=True)
        raise typer.Exit(2) from None
    if control_port is None:
        control_port = port + 1 if port else 0
    server = PrinterServer(
        out,
        host=host,
        port=port,
        control_port=control_port,
        dots=PAPER_DOTS[paper],
        faults=[f.value for f in fault or []],
        delay=delay,
    )
    try:
        asyncio.run(_serve(server))
    except OSError as error:  # the output folder: a port taken is `CannotListen`
        typer.echo(f"pospay printer serve: --out {out}: {error}", err=True)
        raise typer.Exit(2) from None


async def _serve(server: PrinterServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        faults = ", ".join(server.state.faults) or "none"
        typer.echo(
            f"pospay printer listening on {server.host}:{server.port} (ESC/POS), "
            f"control on {server.host}:{server.control_port}, jobs to {server.out}, "
            f"faults: {faults}",
            err=True,
        )
        await stop.wait()
        typer.echo("pospay printer stopping", err=True)
    finally:
        await server.close()
