"""The QR wallets in the simulation: the wallet simulator as a process of its own, reached
by the host across a faulty link, notifying the host across one, and paid by phones.

The production code runs unchanged: the host's `AlipayClient` and `WechatClient` sign
their requests and verify the answers (RSA2 and HMAC-SHA256) exactly as over HTTP; only
the transport is the simulation's (`SimWalletTransport`): each call may lose its request
(the wallet never acts), lose its answer (the wallet acted, the host never hears) or be
slow, like the issuer's channel (`simulation.channel`). The wallet's gateway and order
book run in tasks of the wallet's node, on its own `SimulatedDisk`, so a crash around a
commit takes the call with it; a restarted wallet is built anew from its database.

The wallet's notifier runs on its node every few seconds: paid merchant-QR orders are
delivered to the host's notification desk across the same kind of link, retried with the
wallet's backoff until the host acknowledges. A phone (`SimPhone`) scans a terminal's QR a
few seconds after it is shown and pays it with the payer's app, on the wallet's node.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pospay.clock import Clock
from pospay.errors import PospayError
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.simulation.channel import _never
from pospay.simulation.faults import Fault, FaultPlan, Site
from pospay.simulation.network import DELAY, LATENCY
from pospay.simulation.nodes import Node
from pospay.wallets.alipay import AlipayGateway
from pospay.wallets.core import WalletCore
from pospay.wallets.notifier import Notifier
from pospay.wallets.payer_app import pay_scanned
from pospay.wallets.payers import TEST_PAYERS, TestPayer
from pospay.wallets.test_keys import TEST_WECHAT_API_KEY
from pospay.wallets.wechat import WechatGateway

NOTIFY_EVERY = 5.0  # seconds between the notifier's rounds
DELIVERY_TIMEOUT = 10.0  # how long the wallet waits for the host to acknowledge
SCAN_DELAY = (2.0, 20.0)  # seconds a customer takes to scan the terminal's QR
WALLETS = (Wallet.ALIPAY, Wallet.WECHAT)


def chaos_payers() -> tuple[TestPayer, ...]:
    """The documented test payers with balances deep enough for any run, except the
    payer whose low balance is its behaviour."""
    return tuple(
        payer
        if payer.opening.minor < 100_000
        else TestPayer(
            payer.number,
            payer.behaviour,
            Money(1_000_000_000, payer.opening.currency),
            payer.notification,
            payer.delay,
            payer.description,
        )
        for payer in TEST_PAYERS
    )


@dataclass
class WalletProc:
    node: Node
    core: WalletCore | None = None
    gateways: dict[Wallet, Any] = field(default_factory=dict)
    notifier: Notifier | None = None

    def boot(self, core: WalletCore, clock: Clock) -> None:
        self.core = core
        self.gateways = {
            Wallet.ALIPAY: AlipayGateway(core, clock),
            Wallet.WECHAT: WechatGateway(core, clock, TEST_WECHAT_API_KEY),
        }


class SimWalletTransport:
    """A `WalletTransport` from the host to one wallet of `proc`, across faults."""

    def __init__(self, faults: FaultPlan, proc: WalletProc, wallet: Wallet) -> None:
        self._faults = faults
        self._proc = proc
        self._wallet = wallet

    async def post(self, path: str, body: bytes, content_type: str) -> bytes:
        fault = self._faults.draw(Site.CHANNEL)
        latency = self._faults.uniform(*LATENCY)
        if fault is Fault.CHANNEL_DELAY:
            latency += self._faults.uniform(*DELAY) / 4
        await asyncio.sleep(latency)
        gateway = self._proc.gateways.get(self._wallet)
        if fault is Fault.CHANNEL_REQUEST_DROP or not self._proc.node.up or gateway is None:
            await _never()
        answer: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        work = self._proc.node.spawn(gateway.handle(path, body))
        work.add_done_callback(lambda task: _pass_on(task, answer))
        result = await answer
        await asyncio.sleep(self._faults.uniform(*LATENCY))
        if result is None or fault is Fault.CHANNEL_RESPONSE_DROP:
            await _never()  # the behaviour "never answers", or the answer was lost
        assert result is not None
        return result


def _pass_on(task: asyncio.Task[Any], answer: asyncio.Future[Any]) -> None:
    if answer.done() or task.cancelled():
        return
    error = task.exception()
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(task.result())


class NotificationLink:
    """Delivers the wallet's notifications to the host's desk across a faulty link."""

    def __init__(self, faults: FaultPlan, host: Any) -> None:
        self._faults = faults
        self._host = host  # a `world.HostProc`: its node and its service, when up

    async def deliver(self, url: str, content_type: str, body: bytes) -> bool:
        fault = self._faults.draw(Site.CHANNEL)
        await asyncio.sleep(self._faults.uniform(*LATENCY))
        service = self._host.service
        if fault is Fault.CHANNEL_REQUEST_DROP or not self._host.node.up or service is None:
            return False
        desk = service.wallets
        if desk is None:
            return False
        wallet = Wallet(url.rsplit("/", 1)[-1])
        # The host may die while it answers: then no answer crosses, and the wallet's own
        # timeout ends the delivery (a TimeoutError the notifier retries after).
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        work = self._host.node.spawn(desk.notify(wallet, body))
        work.add_done_callback(lambda task: _pass_on(task, answer))
        told = await asyncio.wait_for(answer, DELIVERY_TIMEOUT)
        return fault is not Fault.CHANNEL_RESPONSE_DROP and told.status == 200


async def notify_forever(proc: WalletProc, deliver: NotificationLink) -> None:
    """The wallet node's notifier: a round every `NOTIFY_EVERY` seconds."""
    assert proc.core is not None
    proc.notifier = Notifier(proc.core, proc.gateways, deliver.deliver)
    while True:
        await asyncio.sleep(NOTIFY_EVERY)
        await proc.notifier.run_once()


class SimPhone:
    """A customer's phone at one till: scans the terminal's QR after a while and pays it
    with `wallet`'s app as test payer `payer`, on the wallet's node."""

    def __init__(
        self, proc: WalletProc, clock: Clock, rng: random.Random, wallet: Wallet, payer: str
    ) -> None:
        self._proc = proc
        self._clock = clock
        self._rng = rng
        self._wallet = wallet
        self._payer = payer
        self.scanned = 0

    def show(self, payload: str, expires_at: datetime) -> None:
        if self._proc.node.up:
            self._proc.node.spawn(self._scan(payload, self._rng.uniform(*SCAN_DELAY)))

    def clear(self) -> None:
        return None

    async def _scan(self, payload: str, after: float) -> None:
        await asyncio.sleep(after)
        core = self._proc.core
        if core is None or not self._proc.node.up:
            return
        try:
            await pay_scanned(core, self._clock, self._wallet, payload, self._payer)
        except PospayError:
            return  # the app refused the code (expired by now): the customer gives up
        self.scanned += 1
