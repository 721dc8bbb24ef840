"""The double-entry ledger: entries balance, balances never go negative, refusals leave nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine, update
from sqlalchemy.exc import IntegrityError

from pospay.errors import InsufficientFunds, InvalidAmount, UnknownAccount
from pospay.issuer import (
    Account,
    AccountKind,
    NormalSide,
    Purpose,
    approved_movements,
    balance,
    balance_mismatches,
    find_entry,
    negative_balances,
    open_account,
    post_entry,
    trial_balance,
    unbalanced_entries,
)
from pospay.issuer.tables import issuer_account
from pospay.money import Money

AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


def open_three(conn: Connection) -> None:
    """Cash (debit-normal) funds a card (credit-normal) that pays a settlement account."""
    open_account(conn, Account("cash", AccountKind.FUNDING, NormalSide.DEBIT, "CNY"))
    open_account(conn, Account("card", AccountKind.CARD, NormalSide.CREDIT, "CNY", pan_ref="r1"))
    open_account(conn, Account("settle", AccountKind.SETTLEMENT, NormalSide.CREDIT, "CNY"))


def move(conn: Connection, reference: str, minor: int, debit: str, credit: str) -> int | None:
    return post_entry(
        conn,
        reference=reference,
        purpose=Purpose.SALE if debit == "card" else Purpose.FUNDING,
        amount=cny(minor),
        debit=debit,
        credit=credit,
        at=AT,
    )


def test_an_entry_moves_the_amount_on_both_normal_sides(issuer_engine: Engine) -> None:
    with issuer_engine.begin() as conn:
        open_three(conn)
        assert move(conn, "fund", 1_000, "cash", "card") is not None
        assert move(conn, "s1", 300, "card", "settle") is not None
        assert balance(conn, "cash") == cny(1_000)  # debit-normal: the debit added
        assert balance(conn, "card") == cny(700)  # credit-normal: credit added, debit took
        assert balance(conn, "settle") == cny(300)
        assert trial_balance(conn) == (1_300, 1_300)
        assert trial_balance(conn).balanced
        assert approved_movements(conn) == {"s1": cny(300)}
        assert negative_balances(conn) == unbalanced_entries(conn) == 0
        assert balance_mismatches(conn) == 0


def test_the_same_reference_and_purpose_moves_money_once(issuer_engine: Engine) -> None:
    with issuer_engine.begin() as conn:
        open_three(conn)
        first = move(conn, "fund", 1_000, "cash", "card")
        assert move(conn, "fund", 1_000, "cash", "card") is None
        assert find_entry(conn, "fund", Purpose.FUNDING) == first
        assert balance(conn, "card") == cny(1_000)


def test_insufficient_funds_refuses_the_whole_entry(issuer_engine: Engine) -> None:
    with issuer_engine.begin() as conn:
        open_three(conn)
        move(conn, "fund", 100, "cash", "card")
        before = trial_balance(conn)
        with pytest.raises(InsufficientFunds) as refused:
            move(conn, "s1", 101, "card", "settle")
        assert (refused.value.response_code, refused.value.available) == ("51", 100)
        assert balance(conn, "card") == cny(100)
        assert balance(conn, "settle") == cny(0)
        assert trial_balance(conn) == before
        assert find_entry(conn, "s1", Purpose.SALE) is None
        # The whole balance may be taken: zero is not negative.
        assert move(conn, "s2", 100, "card", "settle") is not None
        assert balance(conn, "card") == cny(0)


def test_crediting_a_debit_normal_account_is_limited_too(issuer_engine: Engine) -> None:
    with issuer_engine.begin() as conn:
        open_three(conn)
        with pytest.raises(InsufficientFunds):
            move(conn, "back", 1, "card", "cash")  # cash has nothing to give back


def test_unknown_account_and_wrong_currency_post_nothing(issuer_engine: Engine) -> None:
    with issuer_engine.begin() as conn:
        open_three(conn)
        open_account(conn, Account("usd", AccountKind.SETTLEMENT, NormalSide.CREDIT, "USD"))
        with pytest.raises(UnknownAccount):
            move(conn, "x1", 1, "cash", "nowhere")
        with pytest.raises(InvalidAmount):
            move(conn, "x2", 1, "cash", "usd")
        assert trial_balance(conn) == (0, 0)
        assert balance(conn, "cash") == cny(0)


@pytest.mark.parametrize("minor", [0, -5])
def test_an_entry_needs_a_positive_amount(issuer_engine: Engine, minor: int) -> None:
    with issuer_engine.begin() as conn:
        open_three(conn)
        with pytest.raises(InvalidAmount):
            move(conn, "zero", minor, "cash", "card")


def test_opening_an_account_twice_changes_nothing(issuer_engine: Engine) -> None:
    with issuer_engine.begin() as conn:
        open_three(conn)
        move(conn, "fund", 50, "cash", "card")
        reopened = Account("card", AccountKind.CARD, NormalSide.CREDIT, "CNY", pan_ref="r1")
        assert open_account(conn, reopened) is False
        assert balance(conn, "card") == cny(50)


def test_the_database_itself_refuses_a_negative_balance(issuer_engine: Engine) -> None:
    with issuer_engine.begin() as conn:
        open_three(conn)
    with pytest.raises(IntegrityError), issuer_engine.begin() as conn:
        conn.execute(update(issuer_account).values(balance_minor=-1))


def test_a_reversal_entry_removes_the_sale_from_approved_movements(issuer_engine: Engine) -> None:
    with issuer_engine.begin() as conn:
        open_three(conn)
        move(conn, "fund", 1_000, "cash", "card")
        move(conn, "s1", 300, "card", "settle")
        move(conn, "s2", 200, "card", "settle")
        post_entry(
            conn,
            reference="s1",
            purpose=Purpose.REVERSAL,
            amount=cny(300),
            debit="settle",
            credit="card",
            at=AT,
        )
        assert approved_movements(conn) == {"s2": cny(200)}
        assert balance(conn, "card") == cny(800)
        assert trial_balance(conn).balanced
