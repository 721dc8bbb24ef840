"""QR payments across real processes' edges: the wallet services over HTTP (FastAPI,
uvicorn), the host's ISO 8583 server and notification listener, a terminal over TCP."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from databases import Database
from nodes import CONFIG, RecordingPrinter
from pospay.audit import check_agreement
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.runtime import HostNode, TerminalNode
from pospay.runtime.wallet_node import WalletNode
from pospay.storage import open_engine
from pospay.transaction import State
from pospay.wallets.clients import wallet_client
from pospay.wallets.payers import code_for
from pospay.wallets.transport import HttpTransport

pytestmark = pytest.mark.slow


class PhoneOverHttp:
    """The payer's app: scans the shown QR and pays it through the wallet's HTTP API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers: list[httpx.Response] = []
        self.tasks: list[asyncio.Task[None]] = []

    def show(self, payload: str, expires_at: datetime) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(self._scan(payload)))

    def clear(self) -> None:
        return None

    async def _scan(self, payload: str) -> None:
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            self.answers.append(
                await client.post("/app/scan", json={"payload": payload, "payer": "0001"})
            )


async def test_both_qr_flows_over_http_end_to_end(database: Database, tmp_path: Path) -> None:
    config = replace(CONFIG, supervisor_kinds=frozenset())
    async with WalletNode(database.url, schema=database.schema, notify_interval=0.2) as wallets:
        urls = {wallet: wallets.url_of(wallet) for wallet in (Wallet.ALIPAY, Wallet.WECHAT)}
        async with HostNode(
            database.url,
            database.url,
            tmp_path / "keys",
            iso_port=0,
            schema=database.schema,
            wallet_urls=urls,
        ) as host:
            printer = RecordingPrinter()
            node = TerminalNode(
                config, database.url, "127.0.0.1", host.port, printer, schema=database.schema
            )
            async with node as terminal:
                assert await terminal.sign_in() == "00"
                code = code_for(Wallet.ALIPAY, "0001", "123456789012")
                scanned = await terminal.pay_by_code(code, Money(1250, "CNY"))
                assert scanned.state is State.APPROVED
                phone = PhoneOverHttp(urls[Wallet.WECHAT])
                shown = await terminal.pay_by_qr(Wallet.WECHAT, Money(2500, "CNY"), phone)
                assert shown.state is State.APPROVED, shown
                assert [answer.status_code for answer in phone.answers] == [200]
                assert phone.answers[0].json()["status"] == "paid"
                assert host.notify_server is not None
                async with httpx.AsyncClient() as http:
                    bad = await http.post(
                        f"{host.notify_server.url}/notify/wechat",
                        content=b"<xml><out_trade_no>x</out_trade_no><sign>00</sign></xml>",
                    )
                assert bad.status_code == 400
                assert bad.headers["content-type"].startswith("application/problem+json")
                transport = HttpTransport(urls[Wallet.WECHAT])
                client = wallet_client(Wallet.WECHAT, transport, host.clock, None)
                bill = await client.bill(host.clock.now().date())
                await transport.aclose()
                assert f"PP{shown.rrn}" in bill
    engine = open_engine(database.url, schema=database.schema)
    try:
        report = check_agreement(engine, engine, engine, wallets=engine)
        assert report.findings == []
    finally:
        engine.dispose()


def test_pospay_wallet_serve_announces_both_wallets(tmp_path: Path) -> None:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "pospay",
            "wallet",
            "serve",
            "--alipay-port",
            "0",
            "--wechat-port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen: dict[str, str] = {}
        while len(seen) < 2:
            line = process.stderr.readline()
            assert line, "pospay wallet serve stopped"
            found = re.search(r"wallet (\w+) listening on (\S+)", line)
            if found:
                seen[found[1]] = found[2]
        docs = httpx.get(f"{seen['alipay']}/openapi.json", timeout=5)
        assert "/app/scan" in docs.json()["paths"]
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stderr is not None:
            process.stderr.close()
