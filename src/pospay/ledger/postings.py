"""Double entry on any `Books`: opening accounts, posting entries, and the auditor's checks.

Every movement of money is one entry with a debit posting and a credit posting of
equal amount. Each account keeps its balance on its normal side: a posting on the
normal side adds to it, a posting on the other side takes from it. Taking is done by
a conditional ``UPDATE ... WHERE balance_minor >= :amount`` whose row count says
whether it happened, so the database, not a Python lock, keeps every balance at or
above zero, also with several processes on PostgreSQL.

Functions take a SQLAlchemy `Connection` in a transaction; they neither commit nor
roll back the caller's work. `post_entry` runs inside a SAVEPOINT of its own, so a
refused entry leaves nothing behind and the caller can go on to record the refusal.
The statements every posting runs are built once per set of books (see
`pospay.storage.prepared`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Select,
    Table,
    Update,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from pospay.errors import InsufficientFunds, InvalidAmount, UnknownAccount
from pospay.ledger.books import Books
from pospay.money import Money


class NormalSide(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class TrialBalance(NamedTuple):
    """Total debits and total credits over every posting, in minor units."""

    debits_minor: int
    credits_minor: int

    @property
    def balanced(self) -> bool:
        return self.debits_minor == self.credits_minor


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    """What the auditor reads back from one set of books; all zero in a sound ledger."""

    trial: TrialBalance
    unbalanced_entries: int
    balance_mismatches: int
    negative_balances: int

    @property
    def sound(self) -> bool:
        return self.trial.balanced and not (
            self.unbalanced_entries or self.balance_mismatches or self.negative_balances
        )

    def problems(self, books_name: str) -> list[str]:
        """Each way the books are unsound, in a sentence naming them."""
        found = []
        if not self.trial.balanced:
            found.append(
                f"{books_name} debits {self.trial.debits_minor} differ from credits "
                f"{self.trial.credits_minor}"
            )
        if self.unbalanced_entries:
            found.append(f"{self.unbalanced_entries} {books_name} entries do not balance")
        if self.balance_mismatches:
            found.append(
                f"{self.balance_mismatches} {books_name} balances differ from their postings"
            )
        if self.negative_balances:
            found.append(f"{self.negative_balances} {books_name} accounts have a negative balance")
        return found


def open_account(conn: Connection, books: Books, values: dict[str, Any]) -> bool:
    """Open an account (a row of `books.account`) with a zero balance; False, changing
    nothing, when its id is already open."""
    row = values | {"balance_minor": 0}
    # RETURNING, not the row count: PostgreSQL reports none for an INSERT SQLAlchemy
    # asks a primary key back from.
    return conn.execute(_account_unless_open(books, conn.dialect.name), row).first() is not None


def post_entry(
    conn: Connection,
    books: Books,
    *,
    reference: str,
    purpose: str,
    amount: Money,
    debit: str,
    credit: str,
    at: datetime,
) -> int | None:
    """Move `amount` from the `debit` account's side to the `credit` account's; the entry id.

    Returns None, moving nothing, when an entry for (`reference`, `purpose`) already
    exists. Raises `InsufficientFunds` when a balance would go below zero,
    `UnknownAccount` for an account never opened, and `InvalidAmount` for a
    non-positive amount or an account in another currency; then nothing is posted.
    """
    if amount.minor <= 0:
        raise InvalidAmount(f"an entry moves a positive amount, not {amount}")
    if debit == credit:
        raise InvalidAmount(f"an entry cannot debit and credit the same account {debit!r}")
    if find_entry(conn, books, reference, purpose) is not None:
        return None
    savepoint = conn.begin_nested()
    try:
        # Balances first, credit side first: a sale's credit is the one settlement
        # account every sale shares, and taking that row lock before any other (the
        # card's, the entry's unique key) keeps concurrent transactions from deadlocking.
        _change_balance(conn, books, credit, "C", amount)
        _change_balance(conn, books, debit, "D", amount)
        values = {
            "reference": reference,
            "purpose": purpose,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "created_at": at,
        }
        inserted = _entry_unless_posted(books, conn.dialect.name)
        entry_id = conn.execute(inserted, values).scalar_one_or_none()
        if entry_id is None:  # a concurrent transaction posted it first
            savepoint.rollback()
            return None
        legs = ((debit, "D"), (credit, "C"))
        rows = [
            {
                "entry_id": entry_id,
                "account_id": account,
                "side": side,
                "amount_minor": amount.minor,
            }
            for account, side in legs
        ]
        conn.execute(_insert_postings(books), rows)
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return int(entry_id)


def find_entry(conn: Connection, books: Books, reference: str, purpose: str) -> int | None:
    """The id of the entry for (`reference`, `purpose`), if it was posted."""
    params = {"reference": reference, "purpose": purpose}
    entry_id = conn.execute(_entry(books), params).scalar_one_or_none()
    return None if entry_id is None else int(entry_id)


def entry_legs(conn: Connection, books: Books, entry_id: int) -> dict[str, str]:
    """The accounts an entry debited ("D") and credited ("C")."""
    p = books.posting.c
    query = select(p.side, p.account_id).where(p.entry_id == entry_id)
    return {leg.side: leg.account_id for leg in conn.execute(query)}


def balance(conn: Connection, books: Books, account_id: str) -> Money:
    """The balance of `account_id` on its normal side."""
    row = conn.execute(_balance(books), {"account_id": account_id}).one_or_none()
    if row is None:
        raise UnknownAccount(account_id)
    return Money(int(row.balance_minor), row.currency)


def trial_balance(conn: Connection, books: Books) -> TrialBalance:
    """Sum of all debit postings and of all credit postings; equal in a sound ledger."""
    p = books.posting.c
    query = select(
        func.coalesce(func.sum(case((p.side == "D", p.amount_minor), else_=0)), 0),
        func.coalesce(func.sum(case((p.side == "C", p.amount_minor), else_=0)), 0),
    )
    debits, credits = conn.execute(query).one()
    return TrialBalance(int(debits), int(credits))


def negative_balances(conn: Connection, books: Books) -> int:
    """How many accounts have a negative balance; 0 in a sound ledger."""
    query = select(func.count()).where(books.account.c.balance_minor < 0)
    return int(conn.execute(query).scalar_one())


def unbalanced_entries(conn: Connection, books: Books) -> int:
    """How many entries' debits differ from their credits or their amount; 0 in a sound ledger."""
    p, e = books.posting.c, books.entry.c
    debits = func.coalesce(func.sum(case((p.side == "D", p.amount_minor), else_=0)), 0)
    credits = func.coalesce(func.sum(case((p.side == "C", p.amount_minor), else_=0)), 0)
    per_entry = (
        select(e.entry_id)
        .select_from(books.entry.outerjoin(books.posting, p.entry_id == e.entry_id))
        .group_by(e.entry_id, e.amount_minor)
        .having(or_(debits != credits, debits != e.amount_minor))
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(per_entry)).scalar_one())


def balance_mismatches(conn: Connection, books: Books) -> int:
    """How many accounts' balances differ from the sum of their postings; 0 in a sound ledger."""
    p, a = books.posting.c, books.account.c
    net_debit = (
        select(
            p.account_id,
            func.sum(case((p.side == "D", p.amount_minor), else_=-p.amount_minor)).label("net"),
        )
        .group_by(p.account_id)
        .subquery()
    )
    net = func.coalesce(net_debit.c.net, 0)
    expected = case((a.normal_side == NormalSide.DEBIT.value, net), else_=-net)
    query = (
        select(func.count())
        .select_from(books.account.outerjoin(net_debit, net_debit.c.account_id == a.account_id))
        .where(a.balance_minor != expected)
    )
    return int(conn.execute(query).scalar_one())


def check_books(conn: Connection, books: Books) -> LedgerCheck:
    """Every read-back of the auditor's invariant 6 over `books`, in one result."""
    return LedgerCheck(
        trial=trial_balance(conn, books),
        unbalanced_entries=unbalanced_entries(conn, books),
        balance_mismatches=balance_mismatches(conn, books),
        negative_balances=negative_balances(conn, books),
    )


def _change_balance(
    conn: Connection, books: Books, account_id: str, side: str, amount: Money
) -> None:
    """Apply one posting to its account's balance, refusing to take it below zero."""
    params = {"b_account": account_id, "b_currency": amount.currency, "b_amount": amount.minor}
    if conn.execute(_balance_change(books, side), params).rowcount != 1:
        _explain_refusal(conn, books, account_id, amount)


@cache
def _balance_change(books: Books, side: str) -> Update:
    """The conditional update of one posting on `side` ("D" or "C"): it adds on the
    account's normal side and subtracts on the other, never below zero."""
    a = books.account.c
    adds = a.normal_side == (NormalSide.DEBIT if side == "D" else NormalSide.CREDIT).value
    amount = bindparam("b_amount", type_=a.balance_minor.type)
    return (
        update(books.account)
        .where(
            a.account_id == bindparam("b_account"),
            a.currency == bindparam("b_currency"),
            or_(adds, a.balance_minor >= amount),
        )
        .values(balance_minor=a.balance_minor + case((adds, amount), else_=-amount))
    )


@cache
def _entry(books: Books) -> Select[Any]:
    e = books.entry.c
    return select(e.entry_id).where(
        e.reference == bindparam("reference"), e.purpose == bindparam("purpose")
    )


@cache
def _balance(books: Books) -> Select[Any]:
    a = books.account.c
    return select(a.balance_minor, a.currency).where(a.account_id == bindparam("account_id"))


@cache
def _insert_postings(books: Books) -> Insert:
    return insert(books.posting)


@cache
def _account_unless_open(books: Books, dialect: str) -> Insert:
    """The account INSERT that does nothing when the account is open already."""
    return _insert_unless_exists_in(dialect, books.account).returning(books.account.c.account_id)


@cache
def _entry_unless_posted(books: Books, dialect: str) -> Insert:
    """The entry INSERT that does nothing when its (reference, purpose) is taken."""
    return _insert_unless_exists_in(dialect, books.entry).returning(books.entry.c.entry_id)


def _explain_refusal(conn: Connection, books: Books, account_id: str, amount: Money) -> None:
    """Raise the error that says why the conditional update of `account_id` changed no row."""
    held = balance(conn, books, account_id)
    if held.currency != amount.currency:
        raise InvalidAmount(f"account {account_id!r} holds {held.currency}, not {amount.currency}")
    raise InsufficientFunds(account_id, amount.minor, held.minor)


def insert_unless_exists(conn: Connection, table: Table, values: dict[str, Any]) -> Insert:
    """An INSERT that does nothing when a unique key is already taken (SQLite, PostgreSQL).

    On PostgreSQL a concurrent insert of the same key waits for the other transaction,
    then does nothing if it committed: the database decides who was first.
    """
    return _insert_unless_exists_in(conn.dialect.name, table).values(values)


def _insert_unless_exists_in(dialect: str, table: Table) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"the ledger supports SQLite and PostgreSQL, not {dialect}")
