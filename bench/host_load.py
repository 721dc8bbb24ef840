"""Load on the acquiring host over ISO 8583/TCP: how many sales a second, how fast answered.

Starts a real `pospay serve` on 127.0.0.1 (SQLite in a temporary directory, or the
PostgreSQL database given with --db, in a fresh schema of its own), opens N connections,
signs each in as its own terminal, then sends sales as fast as the answers come back
(one request in flight per connection, or K with --pipeline K) until --seconds have
passed or --transactions have been sent. Every request is timed from the write of its
frame to the read of its answer. Results go to a JSON file and a one-line summary.

Sales use the documented test cards with the largest balances and amounts of 1.00 to
9.99; the benchmark keeps its own tally of what each card can still pay, so a run never
declines for lack of funds, and stops early (saying so) if the cards are spent.

    python bench/host_load.py --connections 8 --seconds 10
    python bench/host_load.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pospay.emv import SimulatedCard, TerminalData
from pospay.iso8583 import Message, decode, encode, read_frame, write_frame
from pospay.iso8583.fields import (
    amount_field,
    local_date_field,
    local_time_field,
    transmission_field,
)
from pospay.iso8583.messages import ENTRY_MODES, PROCESSING_CODES, SIGN_IN_CODE
from pospay.issuer.test_cards import TEST_CARDS, TestCard
from pospay.money import currency_numeric
from pospay.security.keys import decrypt_under, read_working_keys_field
from pospay.security.mac import mac_valid, needs_mac, with_mac
from pospay.security.test_keys import TEST_TMK
from pospay.transaction import Kind, Method

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "host_load.json"
MERCHANT = "898310048160002"
LISTENING = re.compile(r"pospay host listening on [\d.]+:(?P<port>\d+)")
START_TIMEOUT = 60.0
ANSWER_TIMEOUT = 15.0  # the host waits up to 10 s for the issuer
STOP_TIMEOUT = 15.0
MIN_AMOUNT, MAX_AMOUNT = 100, 999  # minor units: 1.00 .. 9.99
BIG_BALANCE = 2_000_000  # cards holding 20,000.00 or more


# Running the host.


@dataclass
class Host:
    process: subprocess.Popen[bytes]
    port: int
    log: Path


@contextlib.contextmanager
def postgres_schema(url: str, name: str | None, keep: bool) -> Iterator[str]:
    """A fresh schema on the server of `url`; yields `url` with its search_path set."""
    schema = name or f"pospay_bench_{uuid.uuid4().hex[:10]}"
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise SystemExit(f"host_load: schema name {schema!r} must be lower-case letters, digits, _")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            with_path = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
            yield with_path.render_as_string(hide_password=False)
        finally:
            if not keep:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def start_host(data_dir: Path, db_url: str | None) -> Host:
    pospay = Path(sys.executable).with_name("pospay")
    command = [str(pospay), "serve", "--test-keys", "--iso-port", "0", "--data-dir", str(data_dir)]
    if db_url is not None:
        command += ["--db", db_url]
    log = data_dir / "serve.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return Host(process, int(found["port"]), log)
        time.sleep(0.05)
    stop_host(process)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise SystemExit(f"host_load: pospay serve did not start:\n{tail}")


def stop_host(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=STOP_TIMEOUT)


# The load.


@dataclass
class Budget:
    """What the benchmark may still spend on each card, so that no sale declines 51."""

    remaining: dict[str, int]
    rng: random.Random

    @classmethod
    def of(cls, cards: Sequence[TestCard], seed: int) -> Budget:
        return cls({card.pan: card.opening_balance.minor for card in cards}, random.Random(seed))

    def take(self) -> tuple[str, int] | None:
        """A card and an amount it can pay, or None when every card is spent."""
        amount = self.rng.randint(MIN_AMOUNT, MAX_AMOUNT)
        payable = [pan for pan, left in self.remaining.items() if left >= amount]
        if not payable:
            return None
        pan = self.rng.choice(payable)
        self.remaining[pan] -= amount
        return pan, amount


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    issued: int = 0
    last_answer: float = 0.0
    cards_spent: bool = False


@dataclass
class Limits:
    deadline: float
    transactions: int | None

    def allow(self, tally: Tally) -> bool:
        if time.monotonic() >= self.deadline:
            return False
        return self.transactions is None or tally.issued < self.transactions


class Connection:
    """One terminal on one TCP connection; answers matched to requests by STAN."""

    def __init__(
        self, terminal_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.terminal_id = terminal_id
        self._reader = reader
        self._writer = writer
        self._waiting: dict[str, asyncio.Future[Message]] = {}
        self._write_lock = asyncio.Lock()
        self._stan = 0
        # The MAC key of the last sign-in (clear, in memory only); None before it.
        self.mac_key: bytes | None = None
        self._receiver = asyncio.create_task(self._receive())

    def next_stan(self) -> str:
        self._stan = self._stan % 999_999 + 1
        return f"{self._stan:06d}"

    def signed_in(self, answer: Message) -> None:
        """Take the working keys of an approved 0810 (field 62, under the test TMK)."""
        _, mac_key = read_working_keys_field(answer["62"], TEST_TMK)
        self.mac_key = decrypt_under(TEST_TMK, mac_key)

    async def exchange(self, request: Message) -> Message:
        if self.mac_key is not None and needs_mac(request["t"]):
            request = with_mac(request, self.mac_key)
        answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting[request["11"]] = answer
        try:
            async with self._write_lock:
                await write_frame(self._writer, encode(request))
            return await asyncio.wait_for(answer, ANSWER_TIMEOUT)
        finally:
            self._waiting.pop(request["11"], None)

    async def _receive(self) -> None:
        try:
            while (data := await read_frame(self._reader)) is not None:
                response = decode(data)
                waiting = self._waiting.get(response.get("11", ""))
                if waiting is not None and not waiting.done():
                    waiting.set_result(response)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            failure = ConnectionError(f"connection lost: {error}")
        else:
            failure = ConnectionError("the host closed the connection")
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(failure)

    async def close(self) -> None:
        self._receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._receiver
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


def sign_in_request(connection: Connection) -> Message:
    return {
        "t": "0800",
        "7": transmission_field(datetime.now(UTC)),
        "11": connection.next_stan(),
        "41": connection.terminal_id,
        "42": MERCHANT,
        "60": "000001",
        "70": SIGN_IN_CODE,
    }


def sale_request(connection: Connection, card: TestCard, amount_minor: int) -> Message:
    """A chip sale as a terminal sends it: the card's ARQC in field 55, so the issuer's
    cryptogram check is part of what is measured."""
    now = datetime.now(UTC)
    chip = SimulatedCard(card.pan, card.psn)
    emv = chip.generate_ac(
        TerminalData(
            amount_minor=amount_minor,
            currency_numeric=currency_numeric(card.opening_balance.currency),
            country_numeric="156",
            date=now,
            unpredictable_number=secrets.token_bytes(4),
        )
    )
    return {
        "23": f"0{card.psn}",
        "55": emv.field_55().hex().upper(),
        "t": "0200",
        "2": card.pan,
        "3": PROCESSING_CODES[Kind.SALE],
        "4": amount_field(amount_minor),
        "7": transmission_field(now),
        "11": connection.next_stan(),
        "12": local_time_field(now),
        "13": local_date_field(now),
        "14": card.expiry,
        "22": ENTRY_MODES[Method.CARD_CHIP],
        "25": "00",
        "41": connection.terminal_id,
        "42": MERCHANT,
        "49": currency_numeric(card.opening_balance.currency),
        "60": "000001",
    }


async def sell(
    connection: Connection, cards: dict[str, TestCard], budget: Budget, limits: Limits, tally: Tally
) -> None:
    """Send sales one after another until the limits say stop."""
    while limits.allow(tally):
        taken = budget.take()
        if taken is None:
            tally.cards_spent = True
            return
        pan, amount = taken
        tally.issued += 1
        request = sale_request(connection, cards[pan], amount)
        sent = time.perf_counter()
        try:
            response = await connection.exchange(request)
        except (TimeoutError, ConnectionError) as error:
            tally.errors[type(error).__name__] += 1
            return
        tally.latencies.append(time.perf_counter() - sent)
        assert connection.mac_key is not None
        if not mac_valid(response, connection.mac_key):
            tally.codes["bad MAC"] += 1
        tally.codes[response.get("39", "none")] += 1
        tally.last_answer = time.monotonic()


async def run_load(
    port: int, connections: int, pipeline: int, seconds: float, transactions: int | None, seed: int
) -> tuple[Tally, float]:
    today = datetime.now(UTC).strftime("%y%m")
    usable = [
        card
        for card in TEST_CARDS
        if card.status == "active"
        and card.expiry >= today
        and card.opening_balance.minor >= BIG_BALANCE
    ]
    cards = {card.pan: card for card in usable}
    budget = Budget.of(usable, seed)
    tally = Tally()
    opened: list[Connection] = []
    try:
        for number in range(1, connections + 1):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            connection = Connection(f"BENCH{number:03d}", reader, writer)
            opened.append(connection)
            answer = await connection.exchange(sign_in_request(connection))
            if answer.get("39") != "00":
                raise SystemExit(
                    f"host_load: sign-in of {connection.terminal_id} answered {answer.get('39')}"
                )
            connection.signed_in(answer)
        started = time.monotonic()
        limits = Limits(started + seconds, transactions)
        workers = [
            sell(connection, cards, budget, limits, tally)
            for connection in opened
            for _ in range(pipeline)
        ]
        await asyncio.gather(*workers)
        duration = (tally.last_answer or time.monotonic()) - started
    finally:
        for connection in opened:
            await connection.close()
    return tally, duration


# Reporting.


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without floats drifting
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class Result:
    """What one run measured; written as JSON with these names."""

    timestamp: str
    backend: str
    connections: int
    pipeline: int
    limit_seconds: float
    limit_transactions: int | None
    transactions: int
    approved: int
    declined: int
    response_codes: dict[str, int]
    errors: dict[str, int]
    stopped_early_cards_spent: bool
    duration_s: float
    tps: float
    latency_ms: dict[str, float]
    python: str
    platform: str
    machine_cores: int | None
    benchmark: str = "host_load"

    def summary(self) -> str:
        latency = self.latency_ms
        return (
            f"host_load [{self.backend}]: {self.connections} connections x {self.pipeline} in "
            f"flight, {self.transactions} sales in {self.duration_s} s = {self.tps} tps "
            f"(approved {self.approved}, declined {self.declined}, "
            f"errors {sum(self.errors.values())}); latency ms p50 {latency['p50']} "
            f"p95 {latency['p95']} p99 {latency['p99']} max {latency['max']}"
        )


def report(tally: Tally, duration: float, arguments: argparse.Namespace, backend: str) -> Result:
    ordered = sorted(tally.latencies)
    answered = len(ordered)
    seconds = {
        "p50": percentile(ordered, 0.50),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else 0.0,
        "mean": sum(ordered) / answered if answered else 0.0,
    }
    return Result(
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
        backend=backend,
        connections=arguments.connections,
        pipeline=arguments.pipeline,
        limit_seconds=arguments.seconds,
        limit_transactions=arguments.transactions,
        transactions=answered,
        approved=tally.codes.get("00", 0),
        declined=answered - tally.codes.get("00", 0),
        response_codes=dict(sorted(tally.codes.items())),
        errors=dict(tally.errors),
        stopped_early_cards_spent=tally.cards_spent,
        duration_s=round(duration, 3),
        tps=round(answered / duration, 1) if duration > 0 else 0.0,
        latency_ms={name: round(value * 1000, 2) for name, value in seconds.items()},
        python=f"{platform.python_implementation()} {platform.python_version()}",
        platform=platform.platform(),
        machine_cores=os.cpu_count(),
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--connections", type=int, default=8, help="TCP connections (terminals)")
    parser.add_argument("--pipeline", type=int, default=1, help="requests in flight per connection")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to send (default 10)")
    parser.add_argument("--transactions", type=int, default=None, help="stop after this many sales")
    parser.add_argument(
        "--db", default=None, help="host database URL (default: SQLite in a temp dir)"
    )
    parser.add_argument(
        "--schema", default=None, help="PostgreSQL: schema to create (default: random)"
    )
    parser.add_argument(
        "--keep-schema", action="store_true", help="PostgreSQL: keep the schema afterwards"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed for cards and amounts")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})"
    )
    arguments = parser.parse_args(argv)
    if arguments.connections < 1 or arguments.pipeline < 1 or arguments.seconds <= 0:
        parser.error("--connections and --pipeline must be at least 1, --seconds positive")
    if arguments.transactions is not None and arguments.transactions < 1:
        parser.error("--transactions must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse(argv)
    backend = "sqlite" if arguments.db is None else make_url(arguments.db).get_backend_name()
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pospay-bench-")))
        db_url = arguments.db
        if backend == "postgresql":
            db_url = stack.enter_context(
                postgres_schema(arguments.db, arguments.schema, arguments.keep_schema)
            )
        host = start_host(data_dir / "serve", db_url)
        try:
            tally, duration = asyncio.run(
                run_load(
                    host.port,
                    arguments.connections,
                    arguments.pipeline,
                    arguments.seconds,
                    arguments.transactions,
                    arguments.seed,
                )
            )
        finally:
            returncode = stop_host(host.process)
        if returncode != 0:
            print(
                f"host_load: pospay serve exited {returncode}; see the log above", file=sys.stderr
            )
    result = report(tally, duration, arguments, backend)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    print(result.summary())
    if tally.cards_spent:
        print("host_load: stopped early: the test cards' balances are spent", file=sys.stderr)
    if tally.codes and not tally.codes.get("00"):
        # Every sale declined means the load measured the refusal path, not authorisation.
        print("host_load: no sale was approved: the figures measure refusals", file=sys.stderr)
        return 1
    return 0 if not tally.errors and returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
