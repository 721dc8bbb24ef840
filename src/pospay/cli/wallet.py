"""`pospay wallet serve`: the Alipay-style and WeChat-Pay-style wallet simulators over HTTP."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from pospay.qr.customer_codes import Wallet
from pospay.runtime.wallet_node import WalletNode
from pospay.storage.database import sqlite_url

wallet_app = typer.Typer(
    name="wallet",
    help="QR wallet simulators (Alipay-style, WeChat-Pay-style).",
    no_args_is_help=True,
)


@wallet_app.command("serve")
def serve(
    db: Annotated[
        str | None, typer.Option(help="Wallet database URL (default: SQLite in --data-dir).")
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="Where the SQLite file goes.")] = Path(
        "pospay-data"
    ),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    alipay_port: Annotated[int, typer.Option(min=0, max=65535, help="Alipay-style API.")] = 8601,
    wechat_port: Annotated[
        int, typer.Option(min=0, max=65535, help="WeChat-Pay-style API.")
    ] = 8602,
) -> None:
    """Serve both wallets' merchant APIs (signed) and the test payers' app until Ctrl-C."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True
    )
    url = db or sqlite_url(data_dir / "wallets.db")
    try:
        asyncio.run(_serve(url, host, alipay_port, wechat_port))
    except OSError as error:
        typer.echo(f"pospay wallet serve: cannot listen on {host}: {error}", err=True)
        raise typer.Exit(2) from None


async def _serve(url: str, host: str, alipay_port: int, wechat_port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with WalletNode(url, host, alipay_port, wechat_port) as node:
        announce(node)
        await stop.wait()
        typer.echo("pospay wallets stopping", err=True)


def announce(node: WalletNode) -> None:
    for wallet in (Wallet.ALIPAY, Wallet.WECHAT):
        typer.echo(f"pospay wallet {wallet.value} listening on {node.url_of(wallet)}", err=True)
