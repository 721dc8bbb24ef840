"""A whole shop for QR tests, in one process on virtual time: a terminal, the host (with
the issuer and both wallets behind `WalletRoutedChannel`), the wallet simulator, and a payer's
phone that scans the terminal's QR.

Every message between terminal and host is packed and unpacked as on the wire; every
call between host and wallet is a signed request and a signed answer (`LocalTransport`);
time is a `ManualClock` that the terminal's sleeps move on, so polling for a minute costs
nothing. All four components share one database (their tables have their own prefixes),
on SQLite or PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from databases import Database
from nodes import CONFIG, RecordingPrinter
from pospay.audit import check_agreement
from pospay.clock import ManualClock
from pospay.errors import OutcomeUnknown
from pospay.host.recovery import recover
from pospay.host.service import HostService
from pospay.host.settings import HostSettings
from pospay.host.tables import host_journal
from pospay.host.wallet_routing import WalletRoutedChannel
from pospay.iso8583 import Message, Received, decode, encode
from pospay.issuer import IssuerSimulator
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.runtime import load_or_create_key
from pospay.storage import GroupCommitter, migrate
from pospay.terminal.engine import Terminal
from pospay.terminal.tables import terminal_journal
from pospay.wallets.alipay import AlipayGateway
from pospay.wallets.clients import wallet_client
from pospay.wallets.core import WalletCore
from pospay.wallets.notifier import Notifier
from pospay.wallets.payer_app import pay_scanned
from pospay.wallets.payers import code_for
from pospay.wallets.tables import wallet_order, wallet_payer
from pospay.wallets.test_keys import TEST_WECHAT_API_KEY
from pospay.wallets.transport import LocalTransport
from pospay.wallets.wechat import WechatGateway

QR_CONFIG = replace(CONFIG, supervisor_kinds=frozenset())


class Link:
    """Terminal to host in-process. `drop` lists MTIs whose next answer is lost after
    the host acted; `delay` adds virtual seconds before a request of that MTI arrives;
    `before_request` runs before each request reaches the host."""

    def __init__(self, service: HostService, clock: ManualClock) -> None:
        self.service = service
        self.clock = clock
        self.drop: list[str] = []
        self.delay: dict[str, float] = {}
        self.sent: list[Message] = []
        # Run before each request reaches the host (e.g. the host's recovery job).
        self.before_request: Callable[[Message], Awaitable[None]] | None = None

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        self.sent.append(dict(request))
        if self.before_request is not None:
            await self.before_request(request)
        self.clock.advance(self.delay.pop(request["t"], 0.0))
        response = await self.service.answer(Received.from_wire(encode(request)))
        assert response is not None
        if request["t"] in self.drop:
            self.drop.remove(request["t"])
            raise OutcomeUnknown("test link: the answer was lost")
        return decode(encode(response))

    async def close(self) -> None:
        return None


@dataclass
class Phone:
    """The customer's phone: when the terminal shows its QR, test payer `payer` scans
    it with `wallet`'s app (None: nobody scans), then the wallet's notifier runs."""

    shop: Shop
    payer: str | None = "0001"
    shown: list[str] = field(default_factory=list)
    scans: list[asyncio.Task[Any]] = field(default_factory=list)

    def show(self, payload: str, expires_at: datetime) -> None:
        self.shown.append(payload)
        if self.payer is not None:
            scan = asyncio.get_running_loop().create_task(self._scan(payload))
            self.scans.append(scan)
            self.shop.pending.append(scan)

    def clear(self) -> None:
        return None

    async def _scan(self, payload: str) -> None:
        assert self.payer is not None
        wallet = self.shop.wallet_of_payload(payload)
        await pay_scanned(self.shop.core, self.shop.clock, wallet, payload, self.payer)
        await self.shop.notifier.run_once()


@dataclass
class Shop:
    terminal: Terminal
    service: HostService
    core: WalletCore
    clock: ManualClock
    link: Link
    engine: Engine
    printer: RecordingPrinter
    channel: WalletRoutedChannel
    committer: GroupCommitter
    notifier: Notifier
    gateways: dict[Wallet, Any]
    wallets: dict[Wallet, Any]
    notifications: list[tuple[int, str]] = field(default_factory=list)
    # What happens within the terminal's next pause (a customer scanning the QR): the
    # terminal's sleep waits for it, as a customer faster than the poll interval would.
    pending: list[asyncio.Task[Any]] = field(default_factory=list)
    _serial: int = 10**11

    def code(self, wallet: Wallet, payer: str) -> str:
        self._serial += 1
        return code_for(wallet, payer, f"{self._serial:012d}")

    def findings(self) -> dict[str, int]:
        e = self.engine
        report = check_agreement(e, e, e, wallets=e)
        return {name: count for name, count in report.by_invariant().items() if count}

    def finding_details(self) -> list[str]:
        e = self.engine
        return [f.detail for f in check_agreement(e, e, e, wallets=e).findings]

    def host_row(self, stan: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(select(host_journal).where(host_journal.c.stan == stan)).one()

    def terminal_row(self, attempt_id: int) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(
                select(terminal_journal).where(terminal_journal.c.id == attempt_id)
            ).one()

    def order(self, order_no: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(
                select(wallet_order).where(wallet_order.c.order_no == order_no)
            ).one()

    def balance(self, wallet: Wallet, payer: str) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(wallet_payer.c.balance_minor).where(
                        wallet_payer.c.payer_id == f"{wallet.value}-{payer}"
                    )
                ).scalar_one()
            )

    def wallet_of_payload(self, payload: str) -> Wallet:
        return Wallet.ALIPAY if "COM.POSPAY.ALIPAY" in payload else Wallet.WECHAT

    def phone(self, payer: str | None = "0001") -> Phone:
        return Phone(self, payer)

    async def recover(self) -> None:
        await recover(self.committer, self.channel, self.clock, grace=0.0)

    async def deliver(self, url: str, content_type: str, body: bytes) -> bool:
        wallet = Wallet(url.rsplit("/", 1)[-1])
        desk = self.service.wallets
        assert desk is not None
        answer = await desk.notify(wallet, body)
        self.notifications.append((answer.status, answer.detail))
        return answer.status == 200


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


@asynccontextmanager
async def open_shop(
    database: Database, key_dir: Path, *, start: datetime | None = None, **config: Any
) -> AsyncIterator[Shop]:
    engine = database.engine()
    migrate(engine, "host", "issuer", "terminal", "wallets")
    clock = ManualClock() if start is None else ManualClock(current=start)
    shops: list[Shop] = []

    async def sleep(seconds: float) -> None:
        for shop in shops:
            pending, shop.pending = shop.pending, []
            await asyncio.gather(*pending)
        clock.advance(seconds)
        await asyncio.sleep(0)

    async with GroupCommitter(engine) as committer:
        issuer = IssuerSimulator(committer, clock, pan_key=load_or_create_key(key_dir / "i.key"))
        await issuer.install_test_cards()
        core = WalletCore(committer, clock)
        await core.install_test_payers()
        gateways: dict[Wallet, Any] = {
            Wallet.ALIPAY: AlipayGateway(core, clock),
            Wallet.WECHAT: WechatGateway(core, clock, TEST_WECHAT_API_KEY),
        }
        wallets = {
            wallet: wallet_client(
                wallet, LocalTransport(gateway), clock, f"http://host/notify/{wallet.value}"
            )
            for wallet, gateway in gateways.items()
        }
        channel = WalletRoutedChannel(issuer, wallets, committer)
        settings = HostSettings(pan_key=load_or_create_key(key_dir / "h.key"))
        service = HostService(committer, channel, clock, settings, wallets=wallets)
        link = Link(service, clock)
        printer = RecordingPrinter()
        terminal = Terminal(
            replace(QR_CONFIG, **config), committer, link, clock, printer, sleep=sleep
        )
        shop = Shop(
            terminal,
            service,
            core,
            clock,
            link,
            engine,
            printer,
            channel,
            committer,
            Notifier(core, gateways, lambda *_: asyncio.sleep(0, False)),
            gateways,
            wallets,
        )
        shop.notifier = Notifier(core, gateways, shop.deliver)
        shops.append(shop)
        await terminal.open()
        assert await terminal.sign_in() == "00"
        yield shop
    engine.dispose()
