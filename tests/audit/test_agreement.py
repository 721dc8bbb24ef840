"""The auditor finds each kind of disagreement that a broken party would leave behind."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Connection, delete, select, update

from databases import Database
from nodes import CONFIG, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.clock import SystemClock
from pospay.host.tables import host_journal
from pospay.issuer.tables import issuer_account
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.prepaid import TEST_PREPAID_BIN, TEST_PROGRAMME, blank_cards, expiry_after
from pospay.prepaid.tables import prepaid_account, prepaid_entry, prepaid_posting
from pospay.printer import DirectoryPrinter
from pospay.terminal.card_read import CardRead
from pospay.terminal.tables import (
    terminal_journal,
    terminal_receipt,
    terminal_receipt_document,
    terminal_settlement,
)
from pospay.transaction import Method

CARD = TEST_CARDS[1]


def host_says_declined(connection: Connection) -> None:
    connection.execute(update(host_journal).values(state="declined", response_code="05"))


def terminal_left_in_flight(connection: Connection) -> None:
    connection.execute(update(terminal_journal).values(state="sent"))


def receipt_lost(connection: Connection) -> None:
    # The receipt and its signed document (which refers to it) are both gone.
    customer = select(terminal_receipt.c.id).where(terminal_receipt.c.copy == "customer")
    document = terminal_receipt_document.c.receipt_id
    connection.execute(delete(terminal_receipt_document).where(document.in_(customer)))
    connection.execute(delete(terminal_receipt).where(terminal_receipt.c.copy == "customer"))


def host_forgot_the_request(connection: Connection) -> None:
    connection.execute(delete(host_journal))


def balances_differ_from_postings(connection: Connection) -> None:
    # A negative balance cannot be written at all (CHECK constraint); a balance that no
    # longer follows from its postings is the ledger fault that can still be planted.
    connection.execute(
        update(issuer_account).values(balance_minor=issuer_account.c.balance_minor + 1)
    )


CASES: list[tuple[Callable[[Connection], None], str, str]] = [
    (host_says_declined, "host", "outcome"),
    (terminal_left_in_flight, "terminal", "final"),
    (receipt_lost, "terminal", "receipt"),
    (host_forgot_the_request, "host", "once"),
    (balances_differ_from_postings, "issuer", "ledger"),
]


@pytest.mark.parametrize(
    ("tamper", "party", "invariant"), CASES, ids=[case[0].__name__ for case in CASES]
)
async def test_each_disagreement_is_reported_under_its_invariant(
    database: Database,
    tmp_path: Path,
    tamper: Callable[[Connection], None],
    party: str,
    invariant: str,
) -> None:
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, DirectoryPrinter(tmp_path / "r")) as terminal:
            await terminal.sign_in()
            outcome = await terminal.sale(CardRead.for_test_card(CARD), Money(2_500, "CNY"))
        assert outcome.approved
        assert check_agreement(host.host_engine, host.host_engine, host.issuer_engine).agreement
        engine = host.issuer_engine if party == "issuer" else host.host_engine
        with engine.begin() as connection:
            tamper(connection)
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
    assert not report.agreement
    assert report.by_invariant()[invariant] >= 1, report.findings


async def test_a_settled_batch_that_disagrees_with_its_journal_is_reported(
    database: Database, tmp_path: Path
) -> None:
    config = replace(CONFIG, supervisor_kinds=frozenset())
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(
            database, host, DirectoryPrinter(tmp_path / "r"), config
        ) as terminal:
            await terminal.sign_in()
            await terminal.sale(CardRead.for_test_card(CARD), Money(2_500, "CNY"))
            settled = await terminal.settle()
        assert settled.settled
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement, report.findings
        with host.host_engine.begin() as connection:
            connection.execute(update(terminal_settlement).values(debit_minor=2_600))
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
    assert report.by_invariant()["settlement"] == 1, report.findings


def prepaid_balance_differs_from_postings(connection: Connection) -> None:
    card = prepaid_account.c.kind == "card"
    connection.execute(
        update(prepaid_account)
        .where(card)
        .values(balance_minor=prepaid_account.c.balance_minor + 1)
    )


def prepaid_posting_lost(connection: Connection) -> None:
    # The credit leg of the payment is gone: the entry no longer balances.
    pay = select(prepaid_entry.c.entry_id).where(prepaid_entry.c.purpose == "pay")
    connection.execute(
        delete(prepaid_posting).where(
            prepaid_posting.c.entry_id.in_(pay), prepaid_posting.c.side == "C"
        )
    )


def prepaid_payment_forgotten_by_the_host(connection: Connection) -> None:
    prepaid = host_journal.c.pan_masked.startswith(TEST_PREPAID_BIN[:6])
    connection.execute(
        update(host_journal)
        .where(prepaid, host_journal.c.kind == "sale")
        .values(state="declined", response_code="05")
    )


PREPAID_CASES: list[tuple[Callable[[Connection], None], str]] = [
    (prepaid_balance_differs_from_postings, "ledger"),
    (prepaid_posting_lost, "ledger"),
    (prepaid_payment_forgotten_by_the_host, "outcome"),
]


@pytest.mark.parametrize(
    ("tamper", "invariant"), PREPAID_CASES, ids=[case[0].__name__ for case in PREPAID_CASES]
)
async def test_the_prepaid_ledger_is_audited_with_the_rest(
    database: Database, tmp_path: Path, tamper: Callable[[Connection], None], invariant: str
) -> None:
    config = replace(CONFIG, supervisor_kinds=frozenset())
    stock = blank_cards(
        TEST_PROGRAMME, random.Random(9), 1, expiry=expiry_after(SystemClock().now(), 12)
    )
    card = CardRead.for_test_card(stock[0], Method.CARD_MAGSTRIPE)
    async with host_node(database, tmp_path / "keys") as host:
        async with terminal_node(database, host, DirectoryPrinter(tmp_path / "r"), config) as t:
            await t.sign_in()
            assert (await t.prepaid.issue(card)).approved
            assert (await t.prepaid.activate(card)).approved
            assert (await t.prepaid.top_up(card, Money(50_00, "CNY"))).approved
            assert (await t.sale(card, Money(12_00, "CNY"))).approved
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
        assert report.agreement and report.ledger_balanced, report.findings
        assert report.prepaid_movements == 2
        with host.host_engine.begin() as connection:
            tamper(connection)
        report = check_agreement(host.host_engine, host.host_engine, host.issuer_engine)
    assert not report.agreement
    assert report.by_invariant()[invariant] >= 1, report.findings
    assert report.ledger_balanced is (invariant != "ledger")
