"""Every prepaid operation end to end: terminal engine -> ISO 8583/TCP -> host -> the
prepaid ledger in the host's database, and back to the terminal journal and receipts.

Each test checks the card's balance in the programme's books and ends with the
auditor's agreement, the prepaid ledger's zero-sum among it.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import select

from databases import Database
from nodes import CONFIG, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.cards import pan_reference
from pospay.clock import SystemClock
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.prepaid import TEST_PROGRAMME, BlankCard, blank_cards, expiry_after
from pospay.prepaid.books import balance
from pospay.prepaid.cards import card_account_id
from pospay.printer import DirectoryPrinter
from pospay.runtime import HostNode, load_or_create_key
from pospay.terminal.card_read import CardRead
from pospay.terminal.engine import Terminal
from pospay.terminal.tables import terminal_receipt
from pospay.transaction import Method, State

OPEN_CONFIG = dataclasses.replace(CONFIG, supervisor_kinds=frozenset())
BANK_CARD = TEST_CARDS[0]


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


def swipe(card: BlankCard, pin: str | None = None) -> CardRead:
    return CardRead.for_test_card(card, Method.CARD_MAGSTRIPE, pin=pin)


@dataclasses.dataclass
class Shop:
    host: HostNode
    terminal: Terminal
    key_dir: Path
    stock: list[BlankCard]

    def balance(self, card: BlankCard) -> Money:
        key = load_or_create_key(self.key_dir / "prepaid-pan.key")
        with self.host.host_engine.connect() as connection:
            return balance(connection, card_account_id(pan_reference(card.pan, key)))

    def receipt_text(self, attempt_id: int, copy: str) -> str:
        with self.host.host_engine.connect() as connection:
            query = select(terminal_receipt.c.text).where(
                terminal_receipt.c.journal_id == attempt_id, terminal_receipt.c.copy == copy
            )
            return str(connection.execute(query).scalar_one())

    def assert_agreement(self) -> None:
        engine = self.host.host_engine
        report = check_agreement(engine, engine, self.host.issuer_engine)
        assert report.agreement, report.findings
        assert report.ledger_balanced and report.prepaid_ledger is not None

    async def ready_card(self, top_up: int = 0, pin: str | None = None) -> BlankCard:
        """A card of the stock, issued, activated and topped up by `top_up` in cash."""
        card = self.stock.pop()
        issued = await self.terminal.prepaid.issue(swipe(card, pin))
        assert issued.approved, issued
        assert (await self.terminal.prepaid.activate(swipe(card))).approved
        if top_up:
            assert (await self.terminal.prepaid.top_up(swipe(card), cny(top_up))).approved
        return card


@asynccontextmanager
async def shop(database: Database, tmp_path: Path) -> AsyncIterator[Shop]:
    printer = DirectoryPrinter(tmp_path / "receipts")
    key_dir = tmp_path / "keys"
    expiry = expiry_after(SystemClock().now(), 24)
    stock = blank_cards(TEST_PROGRAMME, random.Random(7), 8, expiry=expiry)
    async with (
        host_node(database, key_dir) as host,
        terminal_node(database, host, printer, OPEN_CONFIG) as terminal,
    ):
        assert await terminal.sign_in() == "00"
        yield Shop(host, terminal, key_dir, stock)


async def test_issue_top_up_pay_and_refund_with_the_balance_on_every_receipt(
    database: Database, tmp_path: Path
) -> None:
    async with shop(database, tmp_path) as s:
        card = await s.ready_card()
        assert s.balance(card) == cny(0)
        top_up = await s.terminal.prepaid.top_up(swipe(card), cny(300_00))
        assert top_up.approved and top_up.balance == cny(300_00)
        pay = await s.terminal.sale(swipe(card), cny(120_50))
        assert pay.approved and pay.balance == cny(179_50)
        refund = await s.terminal.refund(pay.voucher, cny(20_50))
        assert refund.approved and refund.balance == cny(200_00)
        inquiry = await s.terminal.balance_inquiry(swipe(card))
        assert inquiry.approved and inquiry.balance == cny(200_00)
        assert s.balance(card) == cny(200_00)
        for outcome, shown in ((top_up, "300.00"), (pay, "179.50"), (refund, "200.00")):
            for copy in ("merchant", "customer"):
                text = s.receipt_text(outcome.attempt_id, copy)
                assert "卡内余额" in text and shown in text and "Prepaid" in text
                assert card.pan not in text
        s.assert_agreement()


async def test_a_payment_above_the_balance_is_declined_51_and_moves_nothing(
    database: Database, tmp_path: Path
) -> None:
    async with shop(database, tmp_path) as s:
        card = await s.ready_card(top_up=50_00)
        pay = await s.terminal.sale(swipe(card), cny(50_01))
        assert (pay.state, pay.response_code) == (State.DECLINED, "51")
        assert s.balance(card) == cny(50_00)
        s.assert_agreement()


async def test_card_status_rules(database: Database, tmp_path: Path) -> None:
    async with shop(database, tmp_path) as s:
        card = s.stock.pop()
        assert (await s.terminal.prepaid.issue(swipe(card))).approved
        again = await s.terminal.prepaid.issue(swipe(card))
        assert (again.state, again.response_code) == (State.DECLINED, "12")
        not_active = await s.terminal.prepaid.top_up(swipe(card), cny(10_00))
        assert not_active.response_code == "57"
        assert (await s.terminal.prepaid.activate(swipe(card))).approved
        assert (await s.terminal.prepaid.top_up(swipe(card), cny(10_00))).approved
        assert (await s.terminal.prepaid.freeze(swipe(card))).approved
        frozen = await s.terminal.sale(swipe(card), cny(1_00))
        assert frozen.response_code == "62"
        assert (await s.terminal.prepaid.freeze(swipe(card))).response_code == "12"
        assert (await s.terminal.balance_inquiry(swipe(card))).balance == cny(10_00)
        assert (await s.terminal.prepaid.unfreeze(swipe(card))).approved
        assert (await s.terminal.sale(swipe(card), cny(1_00))).approved
        never = s.stock.pop()
        assert (await s.terminal.sale(swipe(never), cny(1_00))).response_code == "14"
        s.assert_agreement()


async def test_limits_maximum_balance_and_daily_spend(database: Database, tmp_path: Path) -> None:
    async with shop(database, tmp_path) as s:
        limit = TEST_PROGRAMME.max_balance
        card = await s.ready_card(top_up=limit.minor)
        over = await s.terminal.prepaid.top_up(swipe(card), cny(1))
        assert over.response_code == "61"
        daily = TEST_PROGRAMME.daily_spend
        assert (await s.terminal.sale(swipe(card), daily)).approved
        passing = await s.terminal.sale(swipe(card), cny(1))
        assert passing.response_code == "61"
        assert s.balance(card) == limit - daily
        s.assert_agreement()


async def test_a_card_with_a_pin_pays_only_with_it(database: Database, tmp_path: Path) -> None:
    async with shop(database, tmp_path) as s:
        card = await s.ready_card(top_up=100_00, pin="2468")
        assert (await s.terminal.sale(swipe(card), cny(1_00))).response_code == "55"
        assert (await s.terminal.sale(swipe(card, "1357"), cny(1_00))).response_code == "55"
        assert (await s.terminal.sale(swipe(card, "2468"), cny(1_00))).approved
        assert s.balance(card) == cny(99_00)
        s.assert_agreement()


async def test_top_up_by_card_charges_the_bank_card_once(
    database: Database, tmp_path: Path
) -> None:
    async with shop(database, tmp_path) as s:
        card = await s.ready_card()
        bank = CardRead.for_test_card(BANK_CARD, Method.CARD_CHIP)
        done = await s.terminal.prepaid.top_up_by_card(swipe(card), bank, cny(88_00))
        assert done.approved and done.void is None
        assert s.balance(card) == cny(88_00)
        # The sale paid for a top-up that stands: it can be neither voided nor refunded.
        assert (await s.terminal.void(done.sale.voucher)).response_code == "12"
        assert (await s.terminal.refund(done.sale.voucher, cny(1_00))).response_code == "12"
        limit = TEST_PROGRAMME.max_balance
        refused = await s.terminal.prepaid.top_up_by_card(swipe(card), bank, limit)
        assert refused.top_up is not None and refused.top_up.response_code == "61"
        assert refused.void is not None and refused.void.approved and refused.void_failed is None
        assert s.balance(card) == cny(88_00)
        s.assert_agreement()
