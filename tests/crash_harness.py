"""A black-box crash run: a real `pospay serve` process SIGKILLed at random moments while
real terminal engines sell through it, then the auditor over all three databases.

Used by `tests/crash/test_sigkill.py` (a few kills, in the suite) and by
`bench/crash_test.py` (50 and more, JSON results). Nothing here imports pytest.

The run, step by step:

1. Pick a free port on 127.0.0.1 once, and start `pospay serve --iso-port PORT` as a child
   process (SQLite files in the data directory, or the PostgreSQL URL given, whose
   `options=-csearch_path=...` names the schema); wait for its "listening" line.
2. Open K terminal engines in this process, one terminal id each, all journaling into ONE
   terminal database (the journal is keyed by terminal id, so the auditor sees every
   terminal at once), each with its own TCP link and printer folder.
3. Each terminal signs in and sells (chip, contactless or magnetic stripe reads of the
   documented test cards with the largest balances, 1.00 to 9.99) in a loop; after any
   sale that is not approved, or a sign-in that fails, it pauses briefly and signs in again.
4. Meanwhile the killer waits a seeded random 0.3 to 1.5 s, SIGKILLs the child (its own
   `Popen`, by PID, nothing else), waits for it to exit, starts it again with the same
   arguments on the same port and waits for the listening line. Some kills (seeded) land
   during start-up, before the listening line.
5. After the last kill: stop the load, sign every terminal in again and flush its reversals
   until none is pending, restart the host once more (SIGTERM, start) so its start-up
   recovery runs, let it run a moment, stop it with SIGTERM, close the terminals.
6. Open the host, issuer and terminal databases and run `check_agreement`.

Every wait is bounded in time and every loop in count.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from pospay.audit.agreement import check_agreement
from pospay.clock import SystemClock
from pospay.errors import LinkError, OutcomeUnknown
from pospay.host.tables import host_journal
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.printer import DirectoryPrinter
from pospay.storage import GroupCommitter, migrate, open_engine
from pospay.storage.database import sqlite_url
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal
from pospay.terminal.link import TcpHostLink
from pospay.terminal.reversals import ReversalState
from pospay.terminal.tables import terminal_journal
from pospay.transaction import Method, State

POSPAY = Path(sys.executable).with_name("pospay")
LISTENING = re.compile(r"pospay host listening on (?P<host>[\d.]+):(?P<port>\d+)")
# What the host says of its start-up recovery run (absent before the recovery job).
RECOVERED = re.compile(r"recovery at start-up: (?P<resolved>\d+) attempts resolved")
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 60.0
EXIT_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0
MERCHANT = "898310048160002"
# The documented test cards that hold 20,000.00 or more: thousands of small sales fit.
CARDS = tuple(card for card in TEST_CARDS if card.opening_balance.minor >= 2_000_000)
METHODS = (Method.CARD_CHIP, Method.CARD_CONTACTLESS, Method.CARD_MAGSTRIPE)
# How long one reversal pause may last (the engine doubles it on every retry).
MAX_PAUSE = 0.5


@dataclass(frozen=True)
class CrashPlan:
    kills: int
    seed: int
    terminals: int = 4
    min_gap: float = 0.3  # seconds the host runs between its listening line and the kill
    max_gap: float = 1.5
    early_kill_share: float = 0.15  # kills that land during start-up instead
    response_timeout: float = 2.0
    reversal_backoff: float = 0.05
    # Enough that no reversal is given up while the host restarts (a reversal given up
    # stays reversal_pending by design; that would be a test artefact, not a finding).
    reversal_retries: int = 1000
    flush_rounds: int = 10
    settle_seconds: float = 2.0  # the last host run, for its recovery job
    max_seconds: float = 900.0  # the whole run, kills included


@dataclass(frozen=True)
class Storage:
    """Where the three parties keep their data."""

    data_dir: Path  # `pospay serve --data-dir`: keys, and SQLite files without --db
    serve_db: str | None  # `pospay serve --db`: None for its SQLite default
    host_url: str
    issuer_url: str
    terminal_url: str
    schema: str | None = None  # for the engines this process opens on PostgreSQL

    @classmethod
    def sqlite(cls, work_dir: Path) -> Storage:
        data_dir = work_dir / "serve"
        return cls(
            data_dir=data_dir,
            serve_db=None,
            host_url=sqlite_url(data_dir / "host.db"),  # serve's default places
            issuer_url=sqlite_url(data_dir / "issuer.db"),
            terminal_url=sqlite_url(work_dir / "terminals.db"),
        )

    @classmethod
    def postgresql(cls, work_dir: Path, url: str, serve_url: str, schema: str) -> Storage:
        """One schema for all three; `serve_url` is `url` with the schema's search_path."""
        return cls(work_dir / "serve", serve_url, url, url, url, schema)


@dataclass
class CrashResult:
    seed: int
    backend: str
    terminals: int
    kills: int = 0
    early_kills: int = 0  # of `kills`, those during start-up
    attempts: int = 0  # terminal journal rows (sales)
    states: dict[str, int] = field(default_factory=dict)  # terminal journal, by state
    host_states: dict[str, int] = field(default_factory=dict)
    sales_answered: int = 0  # sale calls that came back (any outcome)
    sign_ins: int = 0
    failed_sign_ins: int = 0
    restart_seconds_max: float = 0.0
    restart_seconds_mean: float = 0.0
    load_seconds: float = 0.0
    duration_seconds: float = 0.0
    recovered_at_start_up: int = 0  # host rows the start-up recovery runs resolved
    host_rows: int = 0
    issuer_movements: int = 0
    by_invariant: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def approved(self) -> int:
        return self.states.get(State.APPROVED.value, 0)

    @property
    def declined(self) -> int:
        return self.states.get(State.DECLINED.value, 0)

    @property
    def reversed(self) -> int:
        return self.states.get(State.REVERSED.value, 0)

    def summary(self) -> str:
        return (
            f"{self.backend}: {self.kills} kills ({self.early_kills} during start-up), "
            f"{self.attempts} attempts: {self.approved} approved, {self.declined} declined, "
            f"{self.reversed} reversed; {self.recovered_at_start_up} host rows recovered at "
            f"start-up; {len(self.violations)} violations; "
            f"{self.duration_seconds:.1f} s (seed {self.seed})"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "backend": self.backend,
            "terminals": self.terminals,
            "kills": self.kills,
            "early_kills": self.early_kills,
            "attempts": self.attempts,
            "approved": self.approved,
            "declined": self.declined,
            "reversed": self.reversed,
            "terminal_states": self.states,
            "host_states": self.host_states,
            "sales_answered": self.sales_answered,
            "sign_ins": self.sign_ins,
            "failed_sign_ins": self.failed_sign_ins,
            "restart_seconds_mean": round(self.restart_seconds_mean, 3),
            "restart_seconds_max": round(self.restart_seconds_max, 3),
            "load_seconds": round(self.load_seconds, 2),
            "duration_seconds": round(self.duration_seconds, 2),
            "recovered_at_start_up": self.recovered_at_start_up,
            "host_rows": self.host_rows,
            "issuer_movements": self.issuer_movements,
            "violations_by_invariant": self.by_invariant,
            "violations": len(self.violations),
            "violation_details": self.violations,
        }


class CrashRunError(RuntimeError):
    """The run itself could not go on (the host would not start, a bound was hit)."""


def free_port() -> int:
    """A port free on 127.0.0.1 now; the host is started (and restarted) on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class HostProcess:
    """Our one `pospay serve` child. Only ever signals the process it started itself."""

    def __init__(self, storage: Storage, port: int, log: Path) -> None:
        self.command = [
            str(POSPAY),
            "serve",
            "--test-keys",
            "--iso-port",
            str(port),
            "--host",
            LOOPBACK,
            "--data-dir",
            str(storage.data_dir),
        ]
        if storage.serve_db is not None:
            self.command += ["--db", storage.serve_db]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def spawn(self) -> None:
        assert self.process is None, "the previous host process was not reaped"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(  # noqa: S603 - our own pospay command
                self.command, stdout=sink, stderr=subprocess.STDOUT
            )

    def ready(self) -> bool:
        with self.log.open("rb") as handle:
            handle.seek(self._log_offset)
            return LISTENING.search(handle.read().decode(errors="replace")) is not None

    async def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return
            if self.process.poll() is not None:
                raise CrashRunError(f"pospay serve exited {self.process.returncode}: {self.tail()}")
            await asyncio.sleep(0.02)
        raise CrashRunError(f"pospay serve not listening after {timeout:g} s: {self.tail()}")

    async def start(self) -> None:
        self.spawn()
        await self.wait_ready()

    async def sigkill(self) -> None:
        """SIGKILL our child (by its PID, via its Popen) and reap it."""
        assert self.process is not None
        self.process.kill()
        await self._reap(EXIT_TIMEOUT)

    async def stop(self) -> int | None:
        """SIGTERM and wait; SIGKILL only if it does not stop in time."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return await self._reap(STOP_TIMEOUT)
            except CrashRunError:
                self.process.kill()
        return await self._reap(EXIT_TIMEOUT)

    def stop_now(self) -> None:
        """Clean-up of last resort (blocking): kill our child if it still runs."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(timeout=EXIT_TIMEOUT)
            self.process = None

    async def _reap(self, timeout: float) -> int:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.process = None
                return code
            await asyncio.sleep(0.01)
        raise CrashRunError(f"pospay serve did not exit within {timeout:g} s")

    def tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""


@dataclass
class _Tally:
    sales: int = 0
    sign_ins: int = 0
    failed_sign_ins: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


async def _capped_sleep(seconds: float) -> None:
    await asyncio.sleep(min(seconds, MAX_PAUSE))


class _Terminals:
    """K terminal engines over one terminal database, each with its own link and printer."""

    def __init__(self, plan: CrashPlan, storage: Storage, port: int, work_dir: Path) -> None:
        self.engine = open_engine(storage.terminal_url, schema=storage.schema)
        migrate(self.engine, "terminal")
        self.committer = GroupCommitter(self.engine)
        self.links: list[TcpHostLink] = []
        self.terminals: list[Terminal] = []
        for number in range(1, plan.terminals + 1):
            config = TerminalConfig(
                terminal_id=f"{91000000 + number}",
                merchant_id=MERCHANT,
                merchant_name="CRASH TEST SHOP",
                response_timeout=plan.response_timeout,
                reversal_retries=plan.reversal_retries,
                reversal_backoff=plan.reversal_backoff,
                supervisor_kinds=frozenset(),
            )
            link = TcpHostLink(LOOPBACK, port, connect_timeout=plan.response_timeout)
            printer = DirectoryPrinter(work_dir / "printer" / config.terminal_id)
            self.links.append(link)
            self.terminals.append(
                Terminal(config, self.committer, link, SystemClock(), printer, sleep=_capped_sleep)
            )

    async def open(self) -> None:
        self.committer.start()
        for terminal in self.terminals:
            await terminal.open()

    async def close(self) -> None:
        for link in self.links:
            await link.close()
        await self.committer.stop()
        self.engine.dispose()


async def _sign_in(terminal: Terminal, tally: _Tally) -> bool:
    tally.sign_ins += 1
    try:
        code = await terminal.sign_in()
    except (LinkError, OutcomeUnknown):
        code = "no answer"
    if code != "00":
        tally.failed_sign_ins += 1
    return code == "00"


async def _sell(terminal: Terminal, rng: random.Random, stop: asyncio.Event, tally: _Tally) -> None:
    """Sell until `stop`; sign in at the start and again after anything not approved."""
    signed_in = False
    while not stop.is_set():
        if not signed_in:
            signed_in = await _sign_in(terminal, tally)
            if not signed_in:
                await asyncio.sleep(0.1)
                continue
        read = CardRead.for_test_card(rng.choice(CARDS), rng.choice(METHODS))
        amount = Money(rng.randint(100, 999), "CNY")
        try:
            outcome = await terminal.sale(read, amount)
        except LinkError:
            signed_in = False
            await asyncio.sleep(0.1)
            continue
        tally.sales += 1
        tally.outcomes[outcome.state.value] += 1
        if outcome.state is not State.APPROVED:
            # Expected while the host is down (not sent, reversal pending): sign in again.
            signed_in = False
            await asyncio.sleep(0.05)


async def _quiesce(terminals: _Terminals, plan: CrashPlan, tally: _Tally) -> None:
    """Every terminal signs in (which flushes its reversals), then flushes until none is
    pending, in at most `plan.flush_rounds` rounds."""
    for terminal in terminals.terminals:
        for _ in range(plan.flush_rounds):
            if await _sign_in(terminal, tally):
                break
            await asyncio.sleep(0.2)
        for _ in range(plan.flush_rounds):
            statuses = await terminal.flush_reversals()
            if not statuses or all(
                status.state is not ReversalState.PENDING for status in statuses
            ):
                break
            await asyncio.sleep(0.2)


async def _killer(
    host: HostProcess, plan: CrashPlan, rng: random.Random, result: CrashResult, deadline: float
) -> list[float]:
    restarts: list[float] = []
    for _ in range(plan.kills):
        if time.monotonic() > deadline:
            raise CrashRunError(f"time bound hit after {result.kills} kills")
        await asyncio.sleep(rng.uniform(plan.min_gap, plan.max_gap))
        await host.sigkill()
        result.kills += 1
        began = time.monotonic()
        host.spawn()
        if rng.random() < plan.early_kill_share:
            # Kill it again during start-up (migrations, key files, test cards, recovery).
            await asyncio.sleep(rng.uniform(0.02, 0.5))
            if not host.ready():
                await host.sigkill()
                result.kills += 1
                result.early_kills += 1
                host.spawn()
        await host.wait_ready()
        restarts.append(time.monotonic() - began)
    return restarts


async def run_crash_test(
    plan: CrashPlan, storage: Storage, work_dir: Path, backend: str
) -> CrashResult:
    """The whole run (steps 1 to 6 of the module docstring); the findings are in the result."""
    began = time.monotonic()
    deadline = began + plan.max_seconds
    result = CrashResult(seed=plan.seed, backend=backend, terminals=plan.terminals)
    rng = random.Random(plan.seed)
    host = HostProcess(storage, free_port(), work_dir / "serve.log")
    port = int(host.command[host.command.index("--iso-port") + 1])
    tally = _Tally()
    try:
        await host.start()
        terminals = _Terminals(plan, storage, port, work_dir)
        await terminals.open()
        try:
            stop = asyncio.Event()
            sellers = [
                asyncio.create_task(_sell(terminal, random.Random(rng.random()), stop, tally))
                for terminal in terminals.terminals
            ]
            load_began = time.monotonic()
            try:
                restarts = await _killer(host, plan, rng, result, deadline)
            finally:
                stop.set()
                done, pending = await asyncio.wait(sellers, timeout=60.0)
                for task in pending:
                    task.cancel()
                for task in done:
                    task.result()  # a seller's own error fails the run
                if pending:
                    raise CrashRunError(f"{len(pending)} terminals did not stop within 60 s")
            result.load_seconds = time.monotonic() - load_began
            if restarts:
                result.restart_seconds_max = max(restarts)
                result.restart_seconds_mean = sum(restarts) / len(restarts)
            await _quiesce(terminals, plan, tally)
            # Once more, gently, so the host's start-up recovery runs over what is left.
            await host.stop()
            await host.start()
            await asyncio.sleep(plan.settle_seconds)
            await _quiesce(terminals, plan, tally)
        finally:
            await terminals.close()
        await host.stop()
    finally:
        host.stop_now()
    result.sales_answered = tally.sales
    log = host.log.read_text(errors="replace")
    result.recovered_at_start_up = sum(int(m["resolved"]) for m in RECOVERED.finditer(log))
    result.sign_ins = tally.sign_ins
    result.failed_sign_ins = tally.failed_sign_ins
    _audit(storage, result)
    told = tally.outcomes[State.APPROVED.value]
    if told != result.approved:
        # Every approval a terminal was told of is in its journal, and nothing else is.
        result.violations.append(
            f"acknowledged: terminals were told of {told} approvals, their journal holds "
            f"{result.approved}"
        )
    result.duration_seconds = time.monotonic() - began
    return result


def _audit(storage: Storage, result: CrashResult) -> None:
    terminal = open_engine(storage.terminal_url, schema=storage.schema)
    host = open_engine(storage.host_url, schema=storage.schema)
    issuer = host if storage.issuer_url == storage.host_url else None
    issuer = issuer or open_engine(storage.issuer_url, schema=storage.schema)
    try:
        report = check_agreement(terminal, host, issuer)
        with terminal.connect() as connection:
            result.states = _counts(connection, terminal_journal)
        with host.connect() as connection:
            result.host_states = _counts(connection, host_journal)
    finally:
        for engine in {id(e): e for e in (terminal, host, issuer)}.values():
            engine.dispose()
    result.attempts = report.attempts
    result.host_rows = report.host_rows
    result.issuer_movements = report.issuer_movements
    result.by_invariant = report.by_invariant()
    result.violations = [
        f"{finding.invariant} {finding.attempt}: {finding.detail}" for finding in report.findings
    ]


def _counts(connection: Any, table: Any) -> dict[str, int]:
    rows = connection.execute(select(table.c.state, func.count()).group_by(table.c.state))
    return {str(state): int(count) for state, count in rows}
