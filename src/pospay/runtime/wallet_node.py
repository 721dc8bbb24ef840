"""A running wallet simulator: the order book on its database, both wallets' HTTP
services, and the notifier that delivers paid merchant-QR orders to the merchant.

Used by `pospay wallet serve`, `pospay serve` (which starts one beside the host), the
demo and the end-to-end tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType

import httpx
from sqlalchemy import Engine

from pospay.clock import Clock, SystemClock
from pospay.qr.customer_codes import Wallet
from pospay.runtime.http_server import HttpServer
from pospay.storage import GroupCommitter, migrate, open_engine
from pospay.wallets.alipay import AlipayGateway
from pospay.wallets.core import WalletCore
from pospay.wallets.notifier import Notifier
from pospay.wallets.service import wallet_app
from pospay.wallets.test_keys import TEST_WECHAT_API_KEY
from pospay.wallets.wechat import ACKNOWLEDGED, WechatGateway


@dataclass
class WalletNode:
    url: str
    host: str = "127.0.0.1"
    alipay_port: int = 0
    wechat_port: int = 0
    clock: Clock = field(default_factory=SystemClock)
    schema: str | None = None
    notify_interval: float = 1.0

    engine: Engine = field(init=False)
    core: WalletCore = field(init=False)
    notifier: Notifier = field(init=False)
    servers: dict[Wallet, HttpServer] = field(init=False, default_factory=dict)
    _committer: GroupCommitter = field(init=False)
    _http: httpx.AsyncClient = field(init=False)

    def url_of(self, wallet: Wallet) -> str:
        return self.servers[wallet].url

    async def __aenter__(self) -> WalletNode:
        self.engine = open_engine(self.url, schema=self.schema)
        migrate(self.engine, "wallets")
        self._committer = GroupCommitter(self.engine)
        self._committer.start()
        self.core = WalletCore(self._committer, self.clock)
        await self.core.install_test_payers()
        alipay = AlipayGateway(self.core, self.clock)
        wechat = WechatGateway(self.core, self.clock, TEST_WECHAT_API_KEY)
        ports = {Wallet.ALIPAY: self.alipay_port, Wallet.WECHAT: self.wechat_port}
        for wallet, gateway in ((Wallet.ALIPAY, alipay), (Wallet.WECHAT, wechat)):
            server = HttpServer(
                wallet_app(wallet, gateway, self.core, self.clock),
                host=self.host,
                port=ports[wallet],
                service=f"the {wallet.value} wallet API",
            )
            await server.start()
            self.servers[wallet] = server
        self._http = httpx.AsyncClient(timeout=5.0)
        self.notifier = Notifier(
            self.core, {Wallet.ALIPAY: alipay, Wallet.WECHAT: wechat}, self._deliver
        )
        self.notifier.start(self.notify_interval)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.notifier.stop()
        for server in self.servers.values():
            await server.stop()
        await self._http.aclose()
        await self._committer.stop()
        self.engine.dispose()

    async def _deliver(self, url: str, content_type: str, body: bytes) -> bool:
        response = await self._http.post(url, content=body, headers={"Content-Type": content_type})
        return response.status_code == 200 and response.content.strip() in (
            b"success",
            ACKNOWLEDGED,
        )
