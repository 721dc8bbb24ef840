"""Acceptance: concurrent spends on one prepaid card, from many connections to a real
`pospay serve` and from two `pospay serve` processes sharing one PostgreSQL schema, never
overdraw it (nor pass its daily limit) and never apply a transfer twice.

Twelve terminal engines in this process, each on its own TCP connection (spread over
the host processes), race payments on one card loaded with 1,000.00: 48 payments of
30.00 ask for 1,440.00, so exactly 33 can be approved and 10.00 must be left. On a
second card loaded with 5,000.00, 36 payments of 100.00 race its 2,000.00 daily limit:
exactly 20 can pass. Meanwhile one payment request is sent at the same instant on two
connections (to both hosts when there are two) and once more afterwards: every copy
gets the same answer and the card is charged once. The auditor then checks terminal
journal, host journal and both ledgers, the prepaid ledger's zero-sum among them.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from crash_harness import LOOPBACK, MERCHANT, HostProcess, Storage, free_port
from databases import Database
from pospay.audit import check_agreement
from pospay.cards import pan_reference
from pospay.clock import SystemClock
from pospay.iso8583 import Message
from pospay.iso8583.fields import (
    amount_field,
    local_date_field,
    local_time_field,
    transmission_field,
)
from pospay.money import Money
from pospay.prepaid import TEST_PROGRAMME, BlankCard, blank_cards, expiry_after
from pospay.prepaid.books import balance
from pospay.prepaid.cards import card_account_id
from pospay.prepaid.tables import prepaid_entry
from pospay.printer import DirectoryPrinter
from pospay.security.keys import decrypt_under, read_working_keys_field
from pospay.security.mac import with_mac
from pospay.security.test_keys import TEST_TMK
from pospay.storage import GroupCommitter, migrate, open_engine
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal
from pospay.terminal.link import TcpHostLink
from pospay.transaction import Method

TERMINALS = 12
LOAD, PAYMENT, PAYMENTS_EACH = Money(1_000_00, "CNY"), Money(30_00, "CNY"), 4
DAILY_LOAD, DAILY_PAYMENT, DAILY_EACH = Money(5_000_00, "CNY"), Money(100_00, "CNY"), 3
TIMEOUT = 30.0


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


def schema_url(url: str, schema: str) -> str:
    with_path = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return with_path.render_as_string(hide_password=False)


def storage_for(database: Database, tmp_path: Path) -> Storage:
    if database.backend == "sqlite":
        return Storage.sqlite(tmp_path)
    assert database.schema is not None
    serve_url = schema_url(database.url, database.schema)
    return Storage.postgresql(tmp_path, database.url, serve_url, database.schema)


@dataclass
class Shop:
    """The terminals, each on a connection of its own, over one terminal database."""

    storage: Storage
    terminals: list[Terminal]
    links: list[TcpHostLink]
    committer: GroupCommitter
    engine: Engine

    def read(self, card: BlankCard) -> CardRead:
        return CardRead.for_test_card(card, Method.CARD_MAGSTRIPE)

    def card_balance(self, card: BlankCard) -> Money:
        key = (self.storage.data_dir / "keys" / "prepaid-pan.key").read_bytes()
        engine = open_engine(self.storage.host_url, schema=self.storage.schema)
        try:
            with engine.connect() as connection:
                return balance(connection, card_account_id(pan_reference(card.pan, key)))
        finally:
            engine.dispose()


async def open_shop(storage: Storage, ports: list[int], work_dir: Path) -> Shop:
    engine = open_engine(storage.terminal_url, schema=storage.schema)
    migrate(engine, "terminal")
    committer = GroupCommitter(engine)
    committer.start()
    terminals, links = [], []
    for number in range(TERMINALS):
        config = TerminalConfig(
            terminal_id=f"{31000001 + number}",
            merchant_id=MERCHANT,
            merchant_name="RACE SHOP",
            response_timeout=TIMEOUT,
            supervisor_kinds=frozenset(),
        )
        link = TcpHostLink(LOOPBACK, ports[number % len(ports)], connect_timeout=TIMEOUT)
        printer = DirectoryPrinter(work_dir / "printer" / config.terminal_id)
        terminal = Terminal(config, committer, link, SystemClock(), printer)
        await terminal.open()
        assert await terminal.sign_in() == "00"
        terminals.append(terminal)
        links.append(link)
    return Shop(storage, terminals, links, committer, engine)


async def close_shop(shop: Shop) -> None:
    for link in shop.links:
        await link.close()
    await shop.committer.stop()
    shop.engine.dispose()


async def ready_card(shop: Shop, card: BlankCard, load: Money) -> None:
    counter = shop.terminals[0].prepaid
    assert (await counter.issue(shop.read(card))).approved
    assert (await counter.activate(shop.read(card))).approved
    assert (await counter.top_up(shop.read(card), load)).approved


async def race(shop: Shop, card: BlankCard, payment: Money, each: int) -> Counter[str]:
    """Every terminal pays `each` times `payment` from `card`, all at once; the codes."""

    async def till(terminal: Terminal) -> list[str]:
        return [
            (await terminal.sale(shop.read(card), payment)).response_code or "none"
            for _ in range(each)
        ]

    answers = await asyncio.gather(*(till(terminal) for terminal in shop.terminals))
    return Counter(code for codes in answers for code in codes)


class RawTill:
    """A terminal that builds one payment request by hand and sends it on any connection."""

    def __init__(self, terminal_id: str, ports: list[int]) -> None:
        self.terminal_id = terminal_id
        self.links = [TcpHostLink(LOOPBACK, port) for port in ports]
        self.mac_key = b""

    async def sign_in(self) -> None:
        now = SystemClock().now()
        request: Message = {
            "t": "0800",
            "7": transmission_field(now),
            "11": "000001",
            "41": self.terminal_id,
            "42": MERCHANT,
            "60": "000001",
            "70": "001",
        }
        answer = await self.links[0].exchange(request, timeout=TIMEOUT)
        assert answer["39"] == "00"
        _, mac_key = read_working_keys_field(answer["62"], TEST_TMK)
        self.mac_key = decrypt_under(TEST_TMK, mac_key)

    def payment(self, card: BlankCard, amount: Money) -> Message:
        now = SystemClock().now()
        request: Message = {
            "t": "0200",
            "2": card.pan,
            "3": "000000",
            "4": amount_field(amount.minor),
            "7": transmission_field(now),
            "11": "000002",
            "12": local_time_field(now),
            "13": local_date_field(now),
            "14": card.expiry,
            "22": "011",
            "25": "00",
            "41": self.terminal_id,
            "42": MERCHANT,
            "49": "156",
            "60": "000001",
        }
        return with_mac(request, self.mac_key)

    async def close(self) -> None:
        for link in self.links:
            await link.close()


async def spend_race(storage: Storage, ports: list[int], work_dir: Path) -> None:
    expiry = expiry_after(SystemClock().now(), 24)
    first, second, third = blank_cards(TEST_PROGRAMME, random.Random(31), 3, expiry=expiry)
    shop = await open_shop(storage, ports, work_dir)
    raw = RawTill("31999999", ports if len(ports) > 1 else ports * 2)
    try:
        await ready_card(shop, first, LOAD)
        await ready_card(shop, second, DAILY_LOAD)
        await ready_card(shop, third, cny(100_00))
        await raw.sign_in()
        duplicate = raw.payment(third, cny(12_34))
        # A terminal runs one attempt at a time: the races take turns, each with all of them.
        codes, copies = await asyncio.gather(
            race(shop, first, PAYMENT, PAYMENTS_EACH),
            asyncio.gather(*(link.exchange(duplicate, timeout=TIMEOUT) for link in raw.links)),
        )
        daily = await race(shop, second, DAILY_PAYMENT, DAILY_EACH)
        resent = await raw.links[0].exchange(duplicate, timeout=TIMEOUT)
    finally:
        await raw.close()
        await close_shop(shop)

    # 1,000.00 pays for 33 payments of 30.00, and not one more: 10.00 is left.
    approved = LOAD.minor // PAYMENT.minor
    assert codes == Counter({"00": approved, "51": TERMINALS * PAYMENTS_EACH - approved})
    assert shop.card_balance(first) == LOAD - cny(approved * PAYMENT.minor)
    # 2,000.00 a day is 20 payments of 100.00, however many tills ask at once.
    passing = TEST_PROGRAMME.daily_spend.minor // DAILY_PAYMENT.minor
    assert daily == Counter({"00": passing, "61": TERMINALS * DAILY_EACH - passing})
    assert shop.card_balance(second) == DAILY_LOAD - cny(passing * DAILY_PAYMENT.minor)
    # The same request on two connections at once, and again: one answer, one charge.
    assert copies[0]["39"] == "00"
    assert copies[0] == copies[1] == resent
    assert shop.card_balance(third) == cny(100_00 - 12_34)

    host = open_engine(storage.host_url, schema=storage.schema)
    terminal = open_engine(storage.terminal_url, schema=storage.schema)
    issuer = open_engine(storage.issuer_url, schema=storage.schema)
    try:
        with host.connect() as connection:
            pays = connection.execute(
                select(prepaid_entry.c.reference, func.count())
                .where(prepaid_entry.c.purpose == "pay")
                .group_by(prepaid_entry.c.reference)
            ).all()
        assert len(pays) == approved + passing + 1
        assert {count for _, count in pays} == {1}
        assert copies[0]["37"] in {reference for reference, _ in pays}
        report = check_agreement(terminal, host, issuer)
    finally:
        for engine in (host, terminal, issuer):
            engine.dispose()
    # The raw till's payment is on the host and the prepaid ledger, not in a terminal
    # journal: that one finding is this test's doing; everything else must agree.
    findings = [f for f in report.findings if not f.attempt.startswith(raw.terminal_id)]
    assert findings == [], findings
    assert report.ledger_balanced and report.prepaid_ledger is not None
    assert report.prepaid_ledger.trial.debits_minor > 0


@pytest.mark.slow
async def test_many_connections_spend_one_card_without_overdrawing_it(
    database: Database, tmp_path: Path
) -> None:
    storage = storage_for(database, tmp_path)
    port = free_port()
    host = HostProcess(storage, port, tmp_path / "serve.log")
    await host.start()
    try:
        await spend_race(storage, [port], tmp_path)
    finally:
        await host.stop()


@pytest.mark.slow
async def test_two_host_processes_on_one_postgresql_spend_one_card_safely(
    database: Database, tmp_path: Path
) -> None:
    if database.backend != "postgresql":
        pytest.skip("two host processes share a PostgreSQL database; SQLite is one host's")
    storage = storage_for(database, tmp_path)
    ports = [free_port()]
    while len(ports) < 2:  # the system may hand the same free port out twice
        ports += [port for port in [free_port()] if port not in ports]
    hosts = [HostProcess(storage, port, tmp_path / f"serve-{port}.log") for port in ports]
    try:
        for host in hosts:  # one after the other: the first creates the shared keys
            await host.start()
        await spend_race(storage, ports, tmp_path)
    finally:
        for host in hosts:
            await host.stop()
