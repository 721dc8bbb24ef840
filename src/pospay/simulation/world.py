"""The simulated world: terminals, host and issuer on one seeded, virtual-time loop.

`World.run` builds three in-memory databases (terminal, host, issuer), starts the
issuer, the host (start-up recovery, then its periodic recovery job) and the
terminals (open, sign in, then their cashiers' steps), lets the fault plan strike
until the number of attempts asked for has been started, then quiesces: faults off,
every node back up, every delayed message landed, host recovery, every terminal's
queued reversals and print queue flushed and its batch settled. Then the auditor
reads the three databases. The production code runs unchanged: only storage,
network, clock and printer are the simulation's.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from pospay.audit import AgreementReport, check_agreement
from pospay.channels import RoutedChannel
from pospay.errors import OriginalNotFound, PospayError
from pospay.host.defects import Defect
from pospay.host.recovery import RecoveryLoop
from pospay.host.service import HostService
from pospay.host.settings import HostSettings
from pospay.host.wallet_routing import WalletRoutedChannel
from pospay.iso8583.response_codes import BATCH_SETTLED
from pospay.issuer import IssuerSimulator
from pospay.prepaid import PrepaidLedger
from pospay.simulation.channel import SimChannel
from pospay.simulation.disk import SimulatedDisk, memory_engine
from pospay.simulation.faults import FaultPlan, Site
from pospay.simulation.loop import LoopClock
from pospay.simulation.network import Network, SimHostLink
from pospay.simulation.nodes import Node, install
from pospay.simulation.prepaid_customers import PrepaidCustomers, run_prepaid_step
from pospay.simulation.printer import SimPrinter
from pospay.simulation.wallets import (
    WALLETS,
    NotificationLink,
    SimPhone,
    SimWalletTransport,
    WalletProc,
    chaos_payers,
    notify_forever,
)
from pospay.simulation.workload import Cashier, Step, chaos_cards
from pospay.storage import migrate
from pospay.storage.migrate import DATABASES
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal
from pospay.terminal.outcome import Outcome
from pospay.terminal.qr_payments import BadQrCode
from pospay.transaction import Kind
from pospay.wallets.clients import wallet_client
from pospay.wallets.core import PASSWORD_WINDOW, WalletCore

log = logging.getLogger(__name__)

CHANNEL_TIMEOUT = 5.0
RESPONSE_TIMEOUT = 15.0
RECOVERY_INTERVAL = 10.0
RECOVERY_GRACE = 30.0  # above the channel timeout: never touch what is still running
RESTART = (1.0, 10.0)  # seconds a crashed process stays down
SETTLE_EVERY = 250  # attempts of one terminal between its settlements
QUIET = 120.0  # seconds of calm before the final checks: every delayed message lands


@dataclass(frozen=True, slots=True)
class ChaosConfig:
    seed: int
    transactions: int
    fault_rate: float
    terminals: int = 16
    # Deliberate host bugs (`host.defects`): the auditor must report what they break.
    defects: frozenset[Defect] = frozenset()
    # Multiplies how often processes crash around a commit (see `faults.FaultPlan`).
    crash_scale: float = 1.0
    # Independent worlds the run is split into (`simulation.shards`), each with its own
    # host, issuer and share of the terminals and attempts, so that they can run on as
    # many cores. Part of what is simulated, never of the machine: the same shards on
    # one core or on eight give the same report.
    shards: int = 1

    def __post_init__(self) -> None:
        if self.transactions < 1:
            raise ValueError("the simulation needs at least one transaction")
        if not 1 <= self.terminals <= 999:
            raise ValueError("between 1 and 999 terminals")
        if not 1 <= self.shards <= self.terminals:
            raise ValueError("between 1 shard and one shard per terminal")
        if self.transactions < self.shards:
            raise ValueError("at least one transaction per shard")

    def seed_name(self, shard: int) -> str:
        """What shard `shard`'s generators are seeded with: the seed, and the shard's
        number when there are several (a single world is the world of one shard)."""
        return f"{self.seed}" if self.shards == 1 else f"{self.seed}/{shard}"

    def share(self, total: int, shard: int) -> tuple[int, int]:
        """(first, count) of shard `shard`'s share of `total` items, split evenly in
        order (terminals: the first shard has the first ones)."""
        base, extra = divmod(total, self.shards)
        return shard * base + min(shard, extra), base + (1 if shard < extra else 0)


@dataclass
class HostProc:
    node: Node
    service: HostService | None = None
    recovery: RecoveryLoop | None = None


@dataclass
class IssuerProc:
    node: Node
    simulator: IssuerSimulator | None = None


@dataclass
class TerminalProc:
    node: Node
    config: TerminalConfig
    cashier: Cashier
    printer: SimPrinter
    # Signs the terminal's receipts; drawn from the seed, kept across its restarts.
    receipt_key: Ed25519PrivateKey
    terminal: Terminal | None = None
    link: SimHostLink | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    attempts: int = 0


@dataclass
class WorldResult:
    """What the run left behind, for the report."""

    agreement: AgreementReport
    engines: dict[str, Engine]
    faults: dict[str, int]
    crashes: dict[str, int]
    steps: dict[str, int]
    refused_locally: int
    status_queries: int
    errors: list[str]
    printers: list[SimPrinter]
    virtual_seconds: float
    messages_lost_to_partitions: int
    responses_discarded: int


class World:
    # Told the number of attempts started so far, after each start.
    Progress = Callable[[int], None]

    def __init__(
        self, config: ChaosConfig, progress: Progress | None = None, *, shard: int = 0
    ) -> None:
        self.config = config
        self._progress = progress or (lambda _done: None)
        self._seed = seed = config.seed_name(shard)
        self._first_terminal, self._terminals = config.share(config.terminals, shard)
        self._transactions = config.share(config.transactions, shard)[1]
        self._rng = random.Random(f"pospay-chaos:{seed}")
        self._bytes = random.Random(f"pospay-chaos-bytes:{seed}")
        self.faults = FaultPlan(
            random.Random(f"pospay-chaos-faults:{seed}"), 0.0, crash_scale=config.crash_scale
        )
        self._rate = config.fault_rate
        self._cards = chaos_cards()
        self._started = 0
        self._steps: dict[str, int] = {}
        self._refused_locally = 0
        self._status_queries = 0
        self._errors: list[str] = []

    # --- the run --------------------------------------------------------------------

    async def run(self) -> WorldResult:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._on_loop_error)
        install(loop)
        clock = LoopClock(loop)
        engines: dict[str, Engine] = {name: memory_engine() for name in DATABASES}
        for name, components in DATABASES.items():
            migrate(engines[name], *components)
        issuer = IssuerProc(self._node("issuer"))
        host = HostProc(self._node("host"))
        network = Network(self.faults, host)
        cards = SimChannel(self.faults, issuer)
        # The QR wallets: a process of their own, reached through signed clients.
        wallets = self._wallets = WalletProc(self._node("wallets"))
        self._clock = clock
        wallet_channels = {
            wallet: wallet_client(
                wallet,
                SimWalletTransport(self.faults, wallets, wallet),
                clock,
                f"sim://host/notify/{wallet.value}",
            )
            for wallet in WALLETS
        }
        settings = HostSettings(
            pan_key=self._bytes.randbytes(32),
            key_encryption_key=self._bytes.randbytes(32),
            channel_timeout=CHANNEL_TIMEOUT,
            random_bytes=self._bytes.randbytes,
            defects=self.config.defects,
        )
        issuer_pan_key = self._bytes.randbytes(32)
        prepaid_pan_key = self._bytes.randbytes(32)

        async def boot_issuer() -> None:
            disk = SimulatedDisk(engines["issuer"], issuer.node, self.faults, Site.ISSUER_COMMIT)
            issuer.simulator = IssuerSimulator(disk, clock, issuer_pan_key, cards=self._cards)
            issuer.node.up = True

        async def boot_wallets() -> None:
            disk = SimulatedDisk(engines["wallets"], wallets.node, self.faults, Site.WALLET_COMMIT)
            wallets.boot(WalletCore(disk, clock, payers=chaos_payers()), clock)
            wallets.node.up = True
            await notify_forever(wallets, NotificationLink(self.faults, host))

        async def boot_host() -> None:
            disk = SimulatedDisk(engines["host"], host.node, self.faults, Site.HOST_COMMIT)
            # The host is the prepaid programme's issuer: its ledger is on the host's disk;
            # the wallets take the QR attempts, whatever the card channels behind them.
            channel = RoutedChannel(cards, PrepaidLedger(disk, clock, prepaid_pan_key))
            routed = WalletRoutedChannel(channel, wallet_channels, disk)
            recovery = RecoveryLoop(
                disk,
                routed,
                clock,
                interval=RECOVERY_INTERVAL,
                grace=RECOVERY_GRACE,
                channel_timeout=CHANNEL_TIMEOUT,
            )
            host.recovery = recovery
            await recovery.run_once(grace=0.0)  # start-up: nothing of ours is in flight
            host.service = HostService(disk, routed, clock, settings, wallets=wallet_channels)
            host.node.up = True
            while True:
                await asyncio.sleep(RECOVERY_INTERVAL)
                await recovery.run_once()

        issuer.node.start(boot_issuer)
        await asyncio.sleep(0)
        assert issuer.simulator is not None
        await issuer.simulator.install_test_cards()
        wallets.node.start(boot_wallets)
        await asyncio.sleep(0)
        assert wallets.core is not None
        await wallets.core.install_test_payers()
        host.node.start(boot_host)
        await asyncio.sleep(1.0)
        first = self._first_terminal
        terminals = [self._terminal(index) for index in range(first, first + self._terminals)]
        self.faults.rate = self._rate
        for proc in terminals:
            proc.node.start(self._terminal_boot(proc, engines["terminal"], network, clock))
        for proc in terminals:
            await proc.finished.wait()
        await self._quiesce(host, issuer, terminals)
        nodes = [issuer.node, host.node, wallets.node, *(proc.node for proc in terminals)]
        for node in nodes:
            await node.stop()
        agreement = check_agreement(
            engines["terminal"], engines["host"], engines["issuer"], wallets=engines["wallets"]
        )
        return WorldResult(
            agreement=agreement,
            engines=engines,
            faults=self.faults.report(),
            crashes={
                "issuer": issuer.node.crashes,
                "host": host.node.crashes,
                "wallets": wallets.node.crashes,
                "terminals": sum(node.crashes for node in nodes[3:]),
            },
            steps=dict(sorted(self._steps.items())),
            refused_locally=self._refused_locally,
            status_queries=self._status_queries,
            errors=self._errors,
            printers=[proc.printer for proc in terminals],
            virtual_seconds=round(loop.time(), 3),
            messages_lost_to_partitions=network.lost_to_partitions,
            responses_discarded=network.responses_discarded,
        )

    async def _quiesce(
        self, host: HostProc, issuer: IssuerProc, terminals: list[TerminalProc]
    ) -> None:
        """Faults off; every node up; every delayed message landed; then the recovery
        each party runs anyway: host recovery, queued reversals, print queue, settlement."""
        self.faults.enabled = False
        await asyncio.sleep(QUIET)
        # Until every QR order still being paid has closed at its wallet (a payer who never
        # enters the password): the wallet's last word is final then.
        await asyncio.sleep(PASSWORD_WINDOW.total_seconds())
        while not self._wallets.node.up:  # noqa: ASYNC110 - free on virtual time
            await asyncio.sleep(1.0)
        # Polling costs nothing on virtual time, and keeps `Node` free of events.
        while not all(node.up for node in self._nodes(host, issuer, terminals)):  # noqa: ASYNC110
            await asyncio.sleep(1.0)
        assert host.recovery is not None
        await host.recovery.run_once(grace=0.0)
        for proc in terminals:
            await self._closing(proc, "sign in", lambda terminal: terminal.sign_in())
        await host.recovery.run_once(grace=0.0)
        for proc in terminals:
            await self._closing(proc, "print", lambda terminal: terminal.print_pending())
            await self._closing(proc, "settle", lambda terminal: terminal.settle())

    async def _closing(
        self, proc: TerminalProc, what: str, act: Callable[[Terminal], Awaitable[object]]
    ) -> None:
        """One end-of-day step of a terminal; on a calm world a failure is a finding."""
        assert proc.terminal is not None
        try:
            await act(proc.terminal)
        except PospayError as error:
            self._errors.append(
                f"{proc.node.name}: {what} at close: {type(error).__name__}: {error}"
            )

    @staticmethod
    def _nodes(host: HostProc, issuer: IssuerProc, terminals: list[TerminalProc]) -> list[Node]:
        return [host.node, issuer.node, *(proc.node for proc in terminals)]

    def _qr_display(self, step: Step) -> SimPhone:
        assert step.wallet is not None and step.payer is not None
        rng = random.Random(f"pospay-chaos-phone:{self._seed}:{self._started}")
        return SimPhone(self._wallets, self._clock, rng, step.wallet, step.payer)

    # --- terminals ------------------------------------------------------------------

    def _terminal(self, index: int) -> TerminalProc:
        terminal_id = f"{90_000_001 + index:08d}"
        config = TerminalConfig(
            terminal_id=terminal_id,
            merchant_id="898310048169999",
            merchant_name="混沌测试店 CHAOS MART",
            response_timeout=RESPONSE_TIMEOUT,
            reversal_retries=12,
            reversal_backoff=0.5,
            supervisor_kinds=frozenset(),
        )
        rng = random.Random(f"pospay-chaos:{self._seed}:{terminal_id}")
        regulars = random.Random(f"pospay-chaos:{self._seed}:{terminal_id}:prepaid")
        bank_cards = tuple(card for card in self._cards if card.status == "active")
        cashier = Cashier(rng, self._cards, prepaid=PrepaidCustomers(regulars, bank_cards))
        return TerminalProc(
            self._node(f"terminal {terminal_id}"),
            config,
            cashier,
            SimPrinter(self.faults),
            Ed25519PrivateKey.from_private_bytes(self._bytes.randbytes(32)),
        )

    def _terminal_boot(
        self, proc: TerminalProc, engine: Engine, network: Network, clock: LoopClock
    ) -> Callable[[], Any]:
        async def boot() -> None:
            disk = SimulatedDisk(engine, proc.node, self.faults, Site.TERMINAL_COMMIT)
            proc.link = link = network.link(proc.config.terminal_id)
            proc.terminal = terminal = Terminal(
                proc.config,
                disk,
                link,
                clock,
                proc.printer,
                unpredictable=self._bytes.randbytes,
                receipt_key=proc.receipt_key,
            )
            await terminal.open()
            proc.node.up = True
            await self._sign_in(terminal)
            await self._work(proc, terminal)
            proc.finished.set()

        return boot

    async def _sign_in(self, terminal: Terminal) -> None:
        pause = 1.0
        while True:
            try:
                if await terminal.sign_in() == "00":
                    return
            except PospayError as error:
                log.info("sign-in failed: %s", error)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)

    async def _work(self, proc: TerminalProc, terminal: Terminal) -> None:
        while self._started < self._transactions:
            self._started += 1
            self._progress(self._started)
            step = proc.cashier.next_step()
            proc.attempts += 1
            self._steps[step.label] = self._steps.get(step.label, 0) + 1
            if step.wallet is not None:
                self._steps[step.method.value] = self._steps.get(step.method.value, 0) + 1
            outcome = await self._attempt(terminal, step)
            if outcome is not None:
                proc.cashier.told(step, outcome.voucher, outcome.approved)
                self._status_queries += outcome.status_queries
            # 77: the host settled this batch and the terminal never heard; the cashier
            # does what the screen says and settles again, as at the end of a day.
            batch_closed = outcome is not None and outcome.response_code == BATCH_SETTLED
            if batch_closed or proc.attempts % SETTLE_EVERY == 0:
                try:
                    await terminal.settle()
                except PospayError as error:
                    log.info("settlement failed: %s", error)
            await asyncio.sleep(self._rng.uniform(0.5, 5.0))

    async def _attempt(self, terminal: Terminal, step: Step) -> Outcome | None:
        try:
            if step.code is not None and step.amount is not None:
                return await terminal.pay_by_code(step.code, step.amount)
            if step.wallet is not None and step.amount is not None:
                return await terminal.pay_by_qr(step.wallet, step.amount, self._qr_display(step))
            return await self._run_step(terminal, step)
        except (OriginalNotFound, BadQrCode):
            self._refused_locally += 1
        except PospayError as error:
            self._errors.append(f"{step.kind.value}: {type(error).__name__}: {error}")
        return None

    @staticmethod
    async def _run_step(terminal: Terminal, step: Step) -> Outcome:
        if step.prepaid is not None:
            return await run_prepaid_step(terminal, step.prepaid)
        if step.original is not None:
            if step.kind is Kind.VOID:
                return await terminal.void(step.original)
            if step.kind is Kind.PREAUTH_CANCEL:
                return await terminal.cancel_preauth(step.original)
            assert step.amount is not None
            if step.kind is Kind.REFUND:
                return await terminal.refund(step.original, step.amount)
            return await terminal.complete(step.original, step.amount)
        assert step.card is not None and step.amount is not None
        pin = step.card.pin if step.with_pin else None
        card = CardRead.for_test_card(step.card, step.method, pin=pin)
        if step.kind is Kind.BALANCE_INQUIRY:
            return await terminal.balance_inquiry(card)
        if step.kind is Kind.PREAUTH:
            return await terminal.preauth(card, step.amount)
        return await terminal.sale(card, step.amount)

    def _node(self, name: str) -> Node:
        return Node(name, restart_after=self._restart_after, on_error=self._on_node_error)

    def _on_node_error(self, name: str, error: BaseException) -> None:
        self._errors.append(f"{name}: {type(error).__name__}: {error}")

    def _restart_after(self) -> float:
        return self.faults.uniform(*RESTART)

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        self._errors.append(f"{context.get('message')}: {error!r}")
