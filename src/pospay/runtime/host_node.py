"""A running acquiring host: host journal, issuer simulator, the prepaid programme, the
wallet channels (with their notification listener) and the ISO 8583 server.

The host's one channel is a `RoutedChannel`: card numbers of the prepaid programme's
BIN ranges go to the `PrepaidLedger`, whose tables live in the host's own database
(the host is their issuer); every other card goes to the issuer simulator. With wallets
(`wallet_urls`), a `WalletRoutedChannel` in front sends QR attempts to their wallet.

Used by `pospay serve`, the demo, the benchmarks and the end-to-end tests, so they
all exercise the same wiring.

At start-up, before the server accepts a connection, the host recovery job
(`pospay.host.recovery`) resolves every attempt a previous run left non-final (with
`startup_recovery_grace`, 0 by default: a single host has nothing in flight then);
afterwards it runs every `recovery_interval` seconds in the background with
`recovery_grace`, and is stopped before the server on exit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine

from pospay.channels import CardChannel, RoutedChannel
from pospay.channels.wallet import WalletChannel
from pospay.clock import Clock, SystemClock
from pospay.errors import BadHostKeys, CannotListen
from pospay.host import link_keys
from pospay.host.notifications_http import notification_app
from pospay.host.recovery import RecoveryLoop, RecoveryReport
from pospay.host.server import IsoServer
from pospay.host.service import HostService
from pospay.host.settings import HostSettings
from pospay.host.wallet_routing import WalletRoutedChannel
from pospay.issuer import IssuerSimulator
from pospay.prepaid import TEST_PROGRAMME, PrepaidLedger, Programme
from pospay.qr.customer_codes import Wallet
from pospay.runtime.http_server import HttpServer
from pospay.runtime.keys import load_or_create_key
from pospay.security.host_keys import HostKeys, documented_test_keys
from pospay.storage import GroupCommitter, migrate, open_engine
from pospay.wallets.clients import wallet_client
from pospay.wallets.transport import HttpTransport


@dataclass
class HostNode:
    """Host and issuer simulator on `host_url` / `issuer_url`, listening on `iso_port`."""

    host_url: str
    issuer_url: str
    key_dir: Path
    iso_host: str = "127.0.0.1"
    iso_port: int = 8583
    clock: Clock = field(default_factory=SystemClock)
    schema: str | None = None
    # How long the host waits for the channel, per request and per recovery call.
    channel_timeout: float = 10.0
    # The recovery job: its period (None: start-up run only), and how long a non-final
    # attempt must have been left alone before a periodic run touches it. With several
    # host processes on one database, both graces must exceed `channel_timeout`.
    recovery_interval: float | None = 10.0
    recovery_grace: float = 30.0
    startup_recovery_grace: float = 0.0
    # Tests put a faulty link between host and issuer here; None: the issuer itself.
    channel_for: Callable[[IssuerSimulator], CardChannel] | None = None
    # The prepaid programme the host issues cards of.
    programme: Programme = TEST_PROGRAMME
    # QR wallets: the base URL of each wallet service (`pospay wallet serve`), and the
    # port of the host's notification listener (0: a free one). None: no QR payments.
    wallet_urls: Mapping[Wallet, str] | None = None
    notify_port: int = 0
    # The terminals' master keys and the key-encryption key (`pospay serve` loads them
    # with `runtime.keys.load_host_keys`). None: the documented test TMK for every
    # terminal and the key directory's own key-encryption key, for tests and the demo.
    keys: HostKeys | None = None

    host_engine: Engine = field(init=False)
    issuer_engine: Engine = field(init=False)
    server: IsoServer = field(init=False)
    # The host's core, socket-free: what the server calls for each decoded request.
    service: HostService = field(init=False)
    issuer: IssuerSimulator = field(init=False)
    prepaid: PrepaidLedger = field(init=False)
    recovery: RecoveryLoop = field(init=False)
    # What the start-up run of the recovery job did.
    startup_recovery: RecoveryReport = field(init=False)
    _committers: list[GroupCommitter] = field(init=False, default_factory=list)
    notify_server: HttpServer | None = field(init=False, default=None)
    # The host's clients of the wallets (empty without `wallet_urls`).
    wallets: dict[Wallet, WalletChannel] = field(init=False, default_factory=dict)
    _wallet_transports: list[HttpTransport] = field(init=False, default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    async def __aenter__(self) -> HostNode:
        self.host_engine = open_engine(self.host_url, schema=self.schema)
        self.issuer_engine = (
            self.host_engine
            if self.issuer_url == self.host_url
            else open_engine(self.issuer_url, schema=self.schema)
        )
        migrate(self.host_engine, "host", "prepaid")
        migrate(self.issuer_engine, "issuer")
        host_committer = GroupCommitter(self.host_engine)
        issuer_committer = (
            host_committer
            if self.issuer_engine is self.host_engine
            else GroupCommitter(self.issuer_engine)
        )
        self._committers = list({id(c): c for c in (host_committer, issuer_committer)}.values())
        for committer in self._committers:
            committer.start()
        self.issuer = IssuerSimulator(
            issuer_committer,
            self.clock,
            pan_key=load_or_create_key(self.key_dir / "issuer-pan.key"),
        )
        await self.issuer.install_test_cards()
        cards = self.issuer if self.channel_for is None else self.channel_for(self.issuer)
        self.prepaid = PrepaidLedger(
            host_committer,
            self.clock,
            pan_key=load_or_create_key(self.key_dir / "prepaid-pan.key"),
            programme=self.programme,
        )
        channel: CardChannel = RoutedChannel(cards, self.prepaid)
        wallets = None
        if self.wallet_urls is not None:
            wallets = self.wallets = await self._wallet_channels()
            channel = WalletRoutedChannel(channel, wallets, host_committer)
        keys = self.keys or documented_test_keys(load_or_create_key(self.key_dir / "host-kek.key"))
        await self._check_stored_keys(host_committer, keys)
        self.service = service = HostService(
            host_committer,
            channel,
            self.clock,
            HostSettings(
                pan_key=load_or_create_key(self.key_dir / "host-pan.key"),
                key_encryption_key=keys.key_encryption_key,
                master_key_of=keys.master_key_of,
                channel_timeout=self.channel_timeout,
            ),
            wallets=wallets,
        )

        self.recovery = RecoveryLoop(
            host_committer,
            channel,
            self.clock,
            interval=self.recovery_interval or 0.0,
            grace=self.recovery_grace,
            channel_timeout=self.channel_timeout,
        )
        self.startup_recovery = await self.recovery.run_once(grace=self.startup_recovery_grace)
        if self.recovery_interval is not None:
            self.recovery.start()
        self.server = IsoServer(service, host=self.iso_host, port=self.iso_port)
        try:
            await self.server.start()
        except (OSError, OverflowError) as error:
            await self.recovery.stop()
            raise CannotListen("ISO 8583", self.iso_host, self.iso_port, str(error)) from None
        except BaseException:
            await self.recovery.stop()
            raise
        return self

    async def _check_stored_keys(self, committer: GroupCommitter, keys: HostKeys) -> None:
        """Every stored working key under `keys`' KEK (those under the previous one
        wrapped again), or `BadHostKeys`: a host must not run on keys it cannot read."""
        kek, previous = keys.key_encryption_key, keys.previous_key_encryption_key
        lost = await committer.run(
            lambda connection: link_keys.rewrap_working_keys(connection, kek, previous)
        )
        if lost:
            await self._stop_committers()
            raise BadHostKeys(
                f"the working keys of {len(lost)} terminals (e.g. {lost[0]}) in the host's "
                "database are not under this key_encryption_key: give the one they are "
                "under as previous_key_encryption_key to rotate it"
            )

    async def _stop_committers(self) -> None:
        for committer in self._committers:
            await committer.stop()
        self.host_engine.dispose()
        self.issuer_engine.dispose()

    async def _wallet_channels(self) -> dict[Wallet, WalletChannel]:
        """Clients of the wallet services, told to notify the host's listener (started
        here, first, so that its port is known)."""
        assert self.wallet_urls is not None
        self.notify_server = HttpServer(
            notification_app(lambda: getattr(getattr(self, "service", None), "wallets", None)),
            host=self.iso_host,
            port=self.notify_port,
            service="wallet notifications",
        )
        await self.notify_server.start()
        channels: dict[Wallet, WalletChannel] = {}
        for wallet, url in self.wallet_urls.items():
            transport = HttpTransport(url, timeout=self.channel_timeout)
            self._wallet_transports.append(transport)
            notify_url = f"{self.notify_server.url}/notify/{wallet.value}"
            channels[wallet] = wallet_client(wallet, transport, self.clock, notify_url)
        return channels

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.recovery.stop()
        await self.server.stop()
        if self.notify_server is not None:
            await self.notify_server.stop()
        for transport in self._wallet_transports:
            await transport.aclose()
        await self._stop_committers()
