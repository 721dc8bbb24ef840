"""The prepaid ledger as the host's channel, on SQLite and PostgreSQL: every operation
idempotent by reference, reversals that put back exactly what was done (and never fail
for money spent since), tombstones for reversals that come first, refunds that cannot
give back more than was paid, the expiry job, statements and the ledger report."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import Connection, Engine, func, select

from databases import Database
from pospay.cards import pan_reference
from pospay.channels import CardAuthorisation
from pospay.clock import ManualClock
from pospay.ledger import check_books
from pospay.money import Money
from pospay.prepaid import TEST_PROGRAMME, BlankCard, PrepaidLedger, blank_cards, expiry_after
from pospay.prepaid.books import RECOVERY_ACCOUNT, approved_movements, balance
from pospay.prepaid.cards import card_account_id, find_card
from pospay.prepaid.expiry import expire_cards
from pospay.prepaid.reports import card_statement, ledger_report
from pospay.prepaid.tables import PREPAID_BOOKS, prepaid_entry
from pospay.security.pin import encrypt_pin_block
from pospay.security.test_keys import TEST_ZONE_PIN_KEY
from pospay.storage import GroupCommitter, migrate
from pospay.transaction import Kind

PAN_KEY = b"prepaid-tests-pan-key"
MERCHANT, OTHER_MERCHANT = "898310048160002", "898310048160003"


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


@dataclasses.dataclass
class Programme:
    """The ledger under test, its database, its clock and the blank cards of its stock."""

    ledger: PrepaidLedger
    engine: Engine
    clock: ManualClock
    stock: list[BlankCard]
    references: int = 0

    def request(
        self,
        kind: Kind,
        card: BlankCard | None,
        minor: int = 0,
        *,
        reference: str | None = None,
        original: str | None = None,
        merchant: str = MERCHANT,
        pin: str | None = None,
    ) -> CardAuthorisation:
        self.references += 1
        pan = "" if card is None else card.pan
        return CardAuthorisation(
            reference=reference or f"{self.references:012d}",
            kind=kind,
            pan=pan,
            expiry="" if card is None else card.expiry,
            amount=cny(minor),
            merchant_id=merchant,
            terminal_id="20000001",
            at=self.clock.now(),
            pin_block=None
            if pin is None
            else bytes.fromhex(encrypt_pin_block(pin, pan, TEST_ZONE_PIN_KEY)),
            original_reference=original,
        )

    async def answer(
        self,
        kind: Kind,
        card: BlankCard | None,
        minor: int = 0,
        *,
        original: str | None = None,
        merchant: str = MERCHANT,
        pin: str | None = None,
    ) -> str:
        request = self.request(kind, card, minor, original=original, merchant=merchant, pin=pin)
        return (await self.ledger.authorise(request)).response_code

    async def ready(self, load: int = 0, pin: str | None = None) -> BlankCard:
        card = self.stock.pop()
        assert await self.answer(Kind.PREPAID_ISSUE, card, pin=pin) == "00"
        assert await self.answer(Kind.PREPAID_ACTIVATE, card) == "00"
        if load:
            assert await self.answer(Kind.PREPAID_TOP_UP, card, load) == "00"
        return card

    def read(self, work: Callable[[Connection], object]) -> object:
        with self.engine.connect() as connection:
            return work(connection)

    def balance(self, card: BlankCard) -> Money:
        account = card_account_id(pan_reference(card.pan, PAN_KEY))
        with self.engine.connect() as connection:
            return balance(connection, account)

    def status(self, card: BlankCard) -> str:
        account = card_account_id(pan_reference(card.pan, PAN_KEY))
        with self.engine.connect() as connection:
            found = find_card(connection, account)
        assert found is not None
        return found.status

    def assert_sound(self) -> None:
        with self.engine.connect() as connection:
            assert check_books(connection, PREPAID_BOOKS).sound
            assert ledger_report(connection).balanced


@asynccontextmanager
async def programme(database: Database) -> AsyncIterator[Programme]:
    engine = database.engine()
    migrate(engine, "prepaid")
    clock = ManualClock()
    stock = blank_cards(TEST_PROGRAMME, random.Random(5), 10, expiry=expiry_after(clock.now(), 24))
    try:
        async with GroupCommitter(engine) as committer:
            ledger = PrepaidLedger(committer, clock, PAN_KEY)
            yield Programme(ledger, engine, clock, stock)
    finally:
        engine.dispose()


async def test_a_repeated_reference_gets_the_first_answer_and_moves_once(
    database: Database,
) -> None:
    async with programme(database) as p:
        card = await p.ready(load=100_00)
        pay = p.request(Kind.SALE, card, 30_00)
        first = await p.ledger.authorise(pay)
        again = await p.ledger.authorise(pay)
        assert first == again and first.response_code == "00"
        assert first.balance == cny(70_00) and p.balance(card) == cny(70_00)
        assert await p.ledger.query(pay.reference) == first
        assert await p.ledger.owns(pay.reference)
        p.assert_sound()


async def test_a_reversed_payment_gives_back_its_money_and_its_daily_allowance(
    database: Database,
) -> None:
    async with programme(database) as p:
        card = await p.ready(load=TEST_PROGRAMME.max_balance.minor)
        daily = TEST_PROGRAMME.daily_spend.minor
        pay = p.request(Kind.SALE, card, daily)
        assert (await p.ledger.authorise(pay)).response_code == "00"
        assert await p.answer(Kind.SALE, card, 1) == "61"  # the day's limit is spent
        reversed_ = await p.ledger.reverse(pay.reference)
        assert reversed_.response_code == "00"
        assert (await p.ledger.reverse(pay.reference)).response_code == "00"  # idempotent
        assert p.balance(card) == TEST_PROGRAMME.max_balance
        assert await p.answer(Kind.SALE, card, daily) == "00"  # the allowance is back
        assert pay.reference not in p.read(approved_movements)  # type: ignore[operator]
        p.assert_sound()


async def test_a_reversed_top_up_already_spent_takes_the_rest_from_recovery(
    database: Database,
) -> None:
    async with programme(database) as p:
        card = await p.ready()
        top_up = p.request(Kind.PREPAID_TOP_UP, card, 100_00)
        assert (await p.ledger.authorise(top_up)).response_code == "00"
        assert await p.answer(Kind.SALE, card, 80_00) == "00"
        result = await p.ledger.reverse(top_up.reference)
        assert result.response_code == "00" and "recovery" in result.reason
        assert p.balance(card) == cny(0)
        with p.engine.connect() as connection:
            assert balance(connection, RECOVERY_ACCOUNT) == cny(80_00)
            purposes = connection.execute(
                select(prepaid_entry.c.purpose, prepaid_entry.c.amount_minor).where(
                    prepaid_entry.c.reference == top_up.reference
                )
            ).all()
        assert sorted(purposes) == [("reversal", 20_00), ("shortfall", 80_00), ("top_up", 100_00)]
        assert (await p.ledger.reverse(top_up.reference)).response_code == "00"
        p.assert_sound()


async def test_a_reversal_before_its_request_refuses_the_request_late(
    database: Database,
) -> None:
    async with programme(database) as p:
        card = await p.ready(load=50_00)
        late = p.request(Kind.SALE, card, 10_00)
        result, owned = await p.ledger.reverse_own(late.reference)
        assert result.response_code == "00" and not owned
        assert not await p.ledger.owns(late.reference)
        assert (await p.ledger.authorise(late)).response_code == "25"
        stored = await p.ledger.query(late.reference)
        assert stored is not None and stored.response_code == "25"
        assert p.balance(card) == cny(50_00)
        p.assert_sound()


async def test_reversals_of_status_changes_put_the_card_back(database: Database) -> None:
    async with programme(database) as p:
        card = p.stock.pop()
        issue = p.request(Kind.PREPAID_ISSUE, card)
        assert (await p.ledger.authorise(issue)).response_code == "00"
        assert (await p.ledger.reverse(issue.reference)).response_code == "00"
        assert p.status(card) == "closed"
        assert await p.answer(Kind.PREPAID_ISSUE, card) == "12"  # never again
        assert await p.answer(Kind.PREPAID_ACTIVATE, card) == "14"
        other = await p.ready(load=10_00)
        freeze = p.request(Kind.PREPAID_FREEZE, other)
        assert (await p.ledger.authorise(freeze)).response_code == "00"
        assert (await p.ledger.reverse(freeze.reference)).response_code == "00"
        assert p.status(other) == "active"
        freeze = p.request(Kind.PREPAID_FREEZE, other)
        assert (await p.ledger.authorise(freeze)).response_code == "00"
        assert await p.answer(Kind.PREPAID_UNFREEZE, other) == "00"
        assert await p.answer(Kind.PREPAID_FREEZE, other) == "00"
        assert await p.answer(Kind.PREPAID_UNFREEZE, other) == "00"
        # The first freeze's reversal finds the card active: the later operations stand.
        await p.ledger.reverse(freeze.reference)
        assert p.status(other) == "active"
        p.assert_sound()


async def test_refunds_give_back_at_most_the_payment_even_racing(database: Database) -> None:
    async with programme(database) as p:
        card = await p.ready(load=100_00)
        pay = p.request(Kind.SALE, card, 60_00)
        assert (await p.ledger.authorise(pay)).response_code == "00"
        second = PrepaidLedger(p.ledger._committer, p.clock, PAN_KEY)
        engine = database.engine()
        try:
            async with GroupCommitter(engine) as committer:
                other = PrepaidLedger(committer, p.clock, PAN_KEY)
                refunds = [
                    p.request(Kind.REFUND, None, 25_00, original=pay.reference) for _ in range(4)
                ]
                answers = await asyncio.gather(
                    *(
                        (other if index % 2 else second).authorise(refund)
                        for index, refund in enumerate(refunds)
                    )
                )
        finally:
            engine.dispose()
        codes = sorted(answer.response_code for answer in answers)
        assert codes == ["00", "00", "13", "13"]
        assert p.balance(card) == cny(90_00)
        refund = next(r for r, a in zip(refunds, answers, strict=True) if a.response_code == "00")
        assert (await p.ledger.reverse(refund.reference)).response_code == "00"
        assert await p.answer(Kind.REFUND, None, 35_00, original=pay.reference) == "00"
        assert await p.answer(Kind.REFUND, None, 1, original=pay.reference) == "13"
        elsewhere = await p.answer(
            Kind.REFUND, None, 1_00, original=pay.reference, merchant=OTHER_MERCHANT
        )
        assert elsewhere == "25"
        p.assert_sound()


async def test_what_the_programme_refuses(database: Database) -> None:
    async with programme(database) as p:
        card = await p.ready(load=20_00, pin="4321")
        assert await p.answer(Kind.VOID, None, 1_00, original="000000000003") == "12"
        assert await p.answer(Kind.PREAUTH, card, 1_00) == "12"
        assert await p.answer(Kind.SALE, card, 1_00) == "55"  # a PIN is needed
        for _ in range(2):
            assert await p.answer(Kind.SALE, card, 1_00, pin="0000") == "55"
        assert await p.answer(Kind.SALE, card, 1_00, pin="0000") == "75"
        assert await p.answer(Kind.SALE, card, 1_00, pin="4321") == "75"  # locked
        never = p.stock.pop()
        assert await p.answer(Kind.PREPAID_TOP_UP, never, 1_00) == "14"
        wrong_expiry = dataclasses.replace(p.stock.pop(), expiry="0101")
        assert await p.answer(Kind.PREPAID_ISSUE, wrong_expiry) == "54"
        far = dataclasses.replace(p.stock.pop(), expiry=expiry_after(p.clock.now(), 40))
        assert await p.answer(Kind.PREPAID_ISSUE, far) == "54"
        active = await p.ready(load=10_00)
        assert await p.answer(Kind.PREPAID_ACTIVATE, active) == "12"
        used = p.request(Kind.PREPAID_CARD_TOP_UP, active, 5_00, original="000000009999")
        assert (await p.ledger.authorise(used)).response_code == "00"
        assert (
            await p.answer(Kind.PREPAID_CARD_TOP_UP, active, 5_00, original="000000009999") == "12"
        )  # a sale pays for one top-up
        pay = p.request(Kind.SALE, active, 1_00)
        assert (await p.ledger.authorise(pay)).response_code == "00"
        assert (
            await p.answer(Kind.PREPAID_CARD_TOP_UP, active, 1_00, original=pay.reference) == "12"
        )  # a prepaid payment pays for none
        p.assert_sound()


async def test_expiry_moves_what_is_left_and_runs_once(database: Database) -> None:
    async with programme(database) as p:
        card = await p.ready(load=42_00)
        month_after = p.clock.now() + timedelta(days=31 * 25)
        with p.engine.begin() as connection:
            expired = expire_cards(connection, month_after)
        assert [(e.balance, e.pan_masked[-4:]) for e in expired] == [(cny(42_00), card.pan[-4:])]
        with p.engine.begin() as connection:
            assert expire_cards(connection, month_after) == []
        assert p.status(card) == "expired" and p.balance(card) == cny(0)
        assert await p.answer(Kind.SALE, card, 1_00) == "54"
        inquiry = await p.ledger.authorise(p.request(Kind.BALANCE_INQUIRY, card))
        assert inquiry.response_code == "00" and inquiry.balance == cny(0)
        report = p.read(ledger_report)
        kinds = {total.kind: total.balance_minor for total in report.by_kind}  # type: ignore[attr-defined]
        assert kinds["expired"] == 42_00
        p.assert_sound()


async def test_a_statement_proves_the_card_s_balance(database: Database) -> None:
    async with programme(database) as p:
        card = await p.ready(load=100_00)
        pay = p.request(Kind.SALE, card, 33_00)
        assert (await p.ledger.authorise(pay)).response_code == "00"
        assert await p.answer(Kind.REFUND, None, 3_00, original=pay.reference) == "00"
        account = card_account_id(pan_reference(card.pan, PAN_KEY))
        with p.engine.connect() as connection:
            statement = card_statement(connection, account)
            count = connection.execute(select(func.count()).select_from(prepaid_entry)).scalar()
        assert statement is not None and statement.proven
        assert statement.closing == p.balance(card) == cny(70_00)
        lines = [(line.purpose, line.amount.minor, line.balance.minor) for line in statement.lines]
        assert lines == [
            ("top_up", 100_00, 100_00),
            ("pay", -33_00, 67_00),
            ("refund", 3_00, 70_00),
        ]
        assert [event.kind for event in statement.events] == ["prepaid_issue", "prepaid_activate"]
        assert count == 3
