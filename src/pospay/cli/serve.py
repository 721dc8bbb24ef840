"""`pospay serve`: the acquiring host, the card issuer simulator, the host's prepaid
programme and the wallet simulators (QR payments), for other terminals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import typer

from pospay.cli.wallet import announce
from pospay.prepaid import TEST_PREPAID_BIN, TEST_PROGRAMME, Programme
from pospay.qr.customer_codes import Wallet
from pospay.runtime import HostNode
from pospay.runtime.keys import HOST_KEYS_VARIABLE, load_host_keys
from pospay.runtime.wallet_node import WalletNode
from pospay.security.host_keys import HostKeys
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url


def serve(
    db: Annotated[
        str | None, typer.Option(help="Host database URL (default: SQLite in --data-dir).")
    ] = None,
    issuer_db: Annotated[
        str | None, typer.Option(help="Issuer simulator database URL (default: same as --db).")
    ] = None,
    iso_port: Annotated[
        int, typer.Option(min=0, max=65535, help="TCP port for ISO 8583 terminals.")
    ] = 8583,
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
    wallets: Annotated[
        bool,
        typer.Option(
            help="Also run the wallet simulators (`pospay wallet serve`) and take QR payments."
        ),
    ] = True,
    wallet_db: Annotated[
        str | None, typer.Option(help="Wallet simulator database URL (default: --data-dir).")
    ] = None,
    alipay_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Alipay-style API (0: a free port).")
    ] = 0,
    wechat_port: Annotated[
        int, typer.Option(min=0, max=65535, help="WeChat-Pay-style API (0: a free port).")
    ] = 0,
    notify_port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="The host's wallet notification listener (0: free)."),
    ] = 0,
    keys: Annotated[
        Path | None,
        typer.Option(
            help="The host's key file: each terminal's master key and the key-encryption "
            f"key (README, Keys). Default: ${HOST_KEYS_VARIABLE}, a file's path or its text.",
        ),
    ] = None,
    test_keys: Annotated[
        bool,
        typer.Option(
            "--test-keys",
            help="Allow the documented test keys (the test TMK for every terminal without "
            "a key file): a test bench only, never real cards.",
        ),
    ] = False,
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
    host_keys = load_host_keys(
        keys, test_keys=test_keys, key_dir=data_dir / "keys", environ=os.environ
    )
    host_url = db or sqlite_url(data_dir / "host.db")
    issuer_url = issuer_db or (db if db else sqlite_url(data_dir / "issuer.db"))
    try:
        recovery = _Recovery(recovery_interval, recovery_grace, startup_recovery_grace)
        qr = None
        if wallets:
            qr = _Wallets(
                wallet_db or sqlite_url(data_dir / "wallets.db"),
                alipay_port,
                wechat_port,
                notify_port,
            )
        for url in {host_url, issuer_url, *([qr.url] if qr else [])}:
            open_engine(url).dispose()  # a database that cannot be used: before anything runs
        asyncio.run(
            _serve(
                host_url, issuer_url, data_dir, host, iso_port, recovery, programme, host_keys, qr
            )
        )
    except OSError as error:  # the data directory: ports and databases are named errors
        typer.echo(f"pospay serve: {error}", err=True)
        raise typer.Exit(2) from None


@dataclass(frozen=True)
class _Wallets:
    url: str
    alipay_port: int
    wechat_port: int
    notify_port: int


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
    host_keys: HostKeys,
    wallets: _Wallets | None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        wallet_urls = None
        if wallets is not None:
            node = await stack.enter_async_context(
                WalletNode(wallets.url, host, wallets.alipay_port, wallets.wechat_port)
            )
            announce(node)
            wallet_urls = {wallet: node.url_of(wallet) for wallet in (Wallet.ALIPAY, Wallet.WECHAT)}
        await _serve_host(
            host_url,
            issuer_url,
            data_dir,
            host,
            port,
            recovery,
            programme,
            host_keys,
            wallets,
            wallet_urls,
            stop,
        )


async def _serve_host(
    host_url: str,
    issuer_url: str,
    data_dir: Path,
    host: str,
    port: int,
    recovery: _Recovery,
    programme: Programme,
    host_keys: HostKeys,
    wallets: _Wallets | None,
    wallet_urls: dict[Wallet, str] | None,
    stop: asyncio.Event,
) -> None:
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
        keys=host_keys,
        wallet_urls=wallet_urls,
        notify_port=0 if wallets is None else wallets.notify_port,
    ) as node:
        typer.echo(f"pospay host keys: {host_keys.describe()}", err=True)
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
        if node.notify_server is not None:
            typer.echo(
                f"pospay host wallet notifications on {node.notify_server.url}/notify/WALLET",
                err=True,
            )
        await stop.wait()
        typer.echo("pospay host stopping", err=True)
