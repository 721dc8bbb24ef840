"""The issuer's double-entry ledger: accounts, entries, and the auditor's read-backs.

Every movement of money is one entry with a debit posting and a credit posting of
equal amount. Each account keeps its balance on its normal side: a posting on the
normal side adds to it, a posting on the other side takes from it. Taking is done by
a conditional ``UPDATE ... WHERE balance_minor >= :amount`` whose row count says
whether it happened, so the database, not a Python lock, keeps every balance at or
above zero, also with several processes on PostgreSQL.

Functions take a SQLAlchemy `Connection` in a transaction; they neither commit nor
roll back the caller's work. `post_entry` runs inside a SAVEPOINT of its own, so a
refused entry leaves nothing behind and the caller can go on to record the refusal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, Update, bindparam, case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from pospay.errors import InsufficientFunds, InvalidAmount, UnknownAccount
from pospay.issuer.tables import (
    issuer_account,
    issuer_authorisation,
    issuer_entry,
    issuer_posting,
)
from pospay.money import Money


class AccountKind(StrEnum):
    CARD = "card"  # a cardholder's funds: a liability of the issuer, credit-normal
    SETTLEMENT = "settlement"  # what the issuer owes the acquirer, credit-normal
    FUNDING = "funding"  # the issuer's cash that funded the cards, debit-normal
    HOLDS = "holds"  # money pre-authorisations set aside from cards, credit-normal


class NormalSide(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class Purpose(StrEnum):
    """Why an entry moved money; at most one entry per (reference, purpose)."""

    FUNDING = "funding"
    SALE = "sale"
    REVERSAL = "reversal"  # undoes the entries of its own reference
    VOID = "void"  # gives a voided sale back to the card
    REFUND = "refund"  # gives (part of) a sale back to the card
    HOLD = "hold"  # sets money aside for a pre-authorisation
    RELEASE = "release"  # gives a pre-authorisation's hold back to the card
    COMPLETION = "completion"  # charges a completed pre-authorisation
    TRANSFER = "transfer"  # moves money from one card to another


@dataclass(frozen=True, slots=True)
class Account:
    """A row of ``issuer_account`` as it is opened. Card columns stay None for other kinds."""

    account_id: str
    kind: AccountKind
    normal_side: NormalSide
    currency: str
    status: str = "active"
    pan_ref: str | None = None
    pan_masked: str | None = None
    brand: str | None = None
    expiry: str | None = None
    holder_name: str | None = None


class TrialBalance(NamedTuple):
    """Total debits and total credits over every posting, in minor units."""

    debits_minor: int
    credits_minor: int

    @property
    def balanced(self) -> bool:
        return self.debits_minor == self.credits_minor


def open_account(conn: Connection, account: Account) -> bool:
    """Open `account` with a zero balance; False (and no change) if its id is already open."""
    values = asdict(account) | {"balance_minor": 0}
    return conn.execute(_insert_unless_exists(conn, issuer_account, values)).rowcount == 1


def post_entry(
    conn: Connection,
    *,
    reference: str,
    purpose: Purpose,
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
    if find_entry(conn, reference, purpose) is not None:
        return None
    savepoint = conn.begin_nested()
    try:
        # Balances first, credit side first: a sale's credit is the one settlement
        # account every sale shares, and taking that row lock before any other (the
        # card's, the entry's unique key) keeps concurrent transactions from deadlocking.
        _change_balance(conn, credit, "C", amount)
        _change_balance(conn, debit, "D", amount)
        values = {
            "reference": reference,
            "purpose": purpose.value,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "created_at": at,
        }
        inserted = _entry_unless_posted(conn.dialect.name)
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
        conn.execute(_INSERT_POSTINGS, rows)
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return int(entry_id)


# Every authorisation runs these: built once (see `pospay.storage.prepared`).
_ENTRY = select(issuer_entry.c.entry_id).where(
    issuer_entry.c.reference == bindparam("reference"),
    issuer_entry.c.purpose == bindparam("purpose"),
)
_BALANCE = select(issuer_account.c.balance_minor, issuer_account.c.currency).where(
    issuer_account.c.account_id == bindparam("account_id")
)
_INSERT_POSTINGS = insert(issuer_posting)


def find_entry(conn: Connection, reference: str, purpose: Purpose) -> int | None:
    """The id of the entry for (`reference`, `purpose`), if it was posted."""
    params = {"reference": reference, "purpose": purpose.value}
    entry_id = conn.execute(_ENTRY, params).scalar_one_or_none()
    return None if entry_id is None else int(entry_id)


def balance(conn: Connection, account_id: str) -> Money:
    """The balance of `account_id` on its normal side."""
    row = conn.execute(_BALANCE, {"account_id": account_id}).one_or_none()
    if row is None:
        raise UnknownAccount(account_id)
    return Money(int(row.balance_minor), row.currency)


def trial_balance(conn: Connection) -> TrialBalance:
    """Sum of all debit postings and of all credit postings; equal in a sound ledger."""
    p = issuer_posting.c
    query = select(
        func.coalesce(func.sum(case((p.side == "D", p.amount_minor), else_=0)), 0),
        func.coalesce(func.sum(case((p.side == "C", p.amount_minor), else_=0)), 0),
    )
    debits, credits = conn.execute(query).one()
    return TrialBalance(int(debits), int(credits))


def negative_balances(conn: Connection) -> int:
    """How many accounts have a negative balance; 0 in a sound ledger."""
    query = select(func.count()).where(issuer_account.c.balance_minor < 0)
    return int(conn.execute(query).scalar_one())


def unbalanced_entries(conn: Connection) -> int:
    """How many entries' debits differ from their credits or their amount; 0 in a sound ledger."""
    p, e = issuer_posting.c, issuer_entry.c
    debits = func.coalesce(func.sum(case((p.side == "D", p.amount_minor), else_=0)), 0)
    credits = func.coalesce(func.sum(case((p.side == "C", p.amount_minor), else_=0)), 0)
    per_entry = (
        select(e.entry_id)
        .select_from(issuer_entry.outerjoin(issuer_posting, p.entry_id == e.entry_id))
        .group_by(e.entry_id, e.amount_minor)
        .having(or_(debits != credits, debits != e.amount_minor))
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(per_entry)).scalar_one())


def balance_mismatches(conn: Connection) -> int:
    """How many accounts' balances differ from the sum of their postings; 0 in a sound ledger."""
    p, a = issuer_posting.c, issuer_account.c
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
        .select_from(issuer_account.outerjoin(net_debit, net_debit.c.account_id == a.account_id))
        .where(a.balance_minor != expected)
    )
    return int(conn.execute(query).scalar_one())


# What an entry moved for its own attempt, as the auditor counts it: taken from a card
# (+1) or given back to it (-1). A void or a release moves nothing of its own: it undoes
# the movement of the original its attempt names (`_UNDOES`).
_SIGN: dict[str, int] = {
    Purpose.SALE.value: 1,
    Purpose.HOLD.value: 1,
    Purpose.COMPLETION.value: 1,
    Purpose.TRANSFER.value: 1,
    Purpose.REFUND.value: -1,
}
_UNDOES: dict[str, str] = {
    Purpose.VOID.value: Purpose.SALE.value,
    Purpose.RELEASE.value: Purpose.HOLD.value,
}


def approved_movements(conn: Connection) -> dict[str, Money]:
    """Reference -> the signed amount each attempt moved that still stands.

    A sale, hold, completion or transfer counts positive (taken from the card), a refund
    negative (given back). Nothing of a reversed attempt stands. A void takes the sale
    it names out, and a release (a completed or cancelled pre-authorisation) the hold it
    names, unless the void or release was itself reversed.
    """
    e, a = issuer_entry.c, issuer_authorisation.c
    entries = conn.execute(
        select(e.reference, e.purpose, e.amount_minor, e.currency).where(
            e.purpose != Purpose.FUNDING.value
        )
    ).all()
    reversed_references = {row.reference for row in entries if row.purpose == "reversal"} | set(
        conn.execute(select(a.reference).where(a.state == "reversed")).scalars()
    )
    originals = {
        row.reference: row.original_reference
        for row in conn.execute(
            select(a.reference, a.original_reference).where(a.original_reference.is_not(None))
        )
    }
    undone = {
        (originals[row.reference], _UNDOES[row.purpose])
        for row in entries
        if row.purpose in _UNDOES
        and row.reference in originals
        and row.reference not in reversed_references
    }
    movements: dict[str, Money] = {}
    for row in entries:
        sign = _SIGN.get(row.purpose)
        if sign is None or row.reference in reversed_references:
            continue
        if (row.reference, row.purpose) in undone:
            continue
        movements[row.reference] = Money(sign * int(row.amount_minor), row.currency)
    return movements


def reverse_entries(conn: Connection, reference: str, at: datetime) -> int:
    """Post the opposite of every entry of `reference`, newest first; how many.

    Each opposite is a reversal entry, except the opposite of a release, which sets the
    hold aside again (a hold entry under `reference`): at most one entry per
    (reference, purpose) holds here too, so running it twice moves nothing more.
    """
    e, p = issuer_entry.c, issuer_posting.c
    entries = conn.execute(
        select(e.entry_id, e.purpose, e.amount_minor, e.currency)
        .where(
            e.reference == reference,
            e.purpose.not_in([Purpose.REVERSAL.value, Purpose.FUNDING.value]),
        )
        .order_by(e.entry_id.desc())
    ).all()
    posted = 0
    for entry in entries:
        if entry.purpose == Purpose.HOLD.value and any(
            other.purpose == Purpose.RELEASE.value for other in entries
        ):
            continue  # the hold set aside again by an earlier run of this reversal
        query = select(p.side, p.account_id).where(p.entry_id == entry.entry_id)
        legs = {leg.side: leg.account_id for leg in conn.execute(query)}
        opposite = Purpose.HOLD if entry.purpose == Purpose.RELEASE.value else Purpose.REVERSAL
        entry_id = post_entry(
            conn,
            reference=reference,
            purpose=opposite,
            amount=Money(int(entry.amount_minor), entry.currency),
            debit=legs["C"],
            credit=legs["D"],
            at=at,
        )
        posted += entry_id is not None
    return posted


def _change_balance(conn: Connection, account_id: str, side: str, amount: Money) -> None:
    """Apply one posting to its account's balance, refusing to take it below zero."""
    params = {"b_account": account_id, "b_currency": amount.currency, "b_amount": amount.minor}
    if conn.execute(_balance_change(side), params).rowcount != 1:
        _explain_refusal(conn, account_id, amount)


@cache
def _balance_change(side: str) -> Update:
    """The conditional update of one posting on `side` ("D" or "C"): it adds on the
    account's normal side and subtracts on the other, never below zero."""
    a = issuer_account.c
    adds = a.normal_side == (NormalSide.DEBIT if side == "D" else NormalSide.CREDIT).value
    amount = bindparam("b_amount", type_=a.balance_minor.type)
    return (
        update(issuer_account)
        .where(
            a.account_id == bindparam("b_account"),
            a.currency == bindparam("b_currency"),
            or_(adds, a.balance_minor >= amount),
        )
        .values(balance_minor=a.balance_minor + case((adds, amount), else_=-amount))
    )


@cache
def _entry_unless_posted(dialect: str) -> Insert:
    """The entry INSERT that does nothing when its (reference, purpose) is taken."""
    return _insert_unless_exists_in(dialect, issuer_entry).returning(issuer_entry.c.entry_id)


def _explain_refusal(conn: Connection, account_id: str, amount: Money) -> None:
    """Raise the error that says why the conditional update of `account_id` changed no row."""
    held = balance(conn, account_id)
    if held.currency != amount.currency:
        raise InvalidAmount(f"account {account_id!r} holds {held.currency}, not {amount.currency}")
    raise InsufficientFunds(account_id, amount.minor, held.minor)


def _insert_unless_exists(conn: Connection, table: Table, values: dict[str, Any]) -> Insert:
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
    raise NotImplementedError(f"the issuer ledger supports SQLite and PostgreSQL, not {dialect}")
