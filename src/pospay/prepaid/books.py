"""How the programme's money moves: its accounts, what each operation posts, and what stands.

The programme's double entry (`pospay.ledger` over `PREPAID_BOOKS`):

| operation | debit | credit |
|---|---|---|
| top-up in cash | ``cash:<merchant>`` (the shop holds the customer's cash) | the card |
| top-up by card sale | ``card_sales:<merchant>`` (the shop was paid by card) | the card |
| payment | the card | ``merchant:<merchant>`` (the programme owes the shop) |
| refund | ``merchant:<merchant>`` | the card |
| expiry | the card (what was left) | ``expired`` |

A reversal posts the opposite of the operation's entry under the same reference. Money
is never created: when a reversal must take back from an account more than it holds
(a refunded or topped-up card that has spent the money since), it takes what is there
and posts the rest from ``recovery``, the programme's claim on the holder, so that no
balance goes negative and the reversal still completes. Every account but the cards is
opened on first use, in the unit that first posts to it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from pospay import ledger
from pospay.ledger import NormalSide
from pospay.money import Money
from pospay.prepaid.tables import PREPAID_BOOKS, prepaid_entry, prepaid_operation

EXPIRED_ACCOUNT = "expired"
RECOVERY_ACCOUNT = "recovery"

# Each kind of programme account, and the side its balance is kept on.
NORMAL_SIDES: dict[str, NormalSide] = {
    "card": NormalSide.CREDIT,
    "merchant": NormalSide.CREDIT,
    "cash": NormalSide.DEBIT,
    "card_sales": NormalSide.DEBIT,
    "expired": NormalSide.CREDIT,
    "recovery": NormalSide.DEBIT,
}

# What each purpose moved for its own operation, as the auditor counts it: taken from
# the card (+1) or given to it (-1). Reversals, shortfalls and expiries are not
# operations of a terminal.
_SIGN = {"pay": 1, "refund": -1, "top_up": -1, "card_top_up": -1}


def merchant_account(kind: str, merchant_id: str) -> str:
    """The id of a shop's account of `kind` ('merchant', 'cash' or 'card_sales')."""
    return f"{kind}:{merchant_id}"


def open_programme_account(conn: Connection, account_id: str, currency: str, at: datetime) -> None:
    """Open `account_id` (a shop's account, ``expired`` or ``recovery``) unless it is open."""
    kind = account_id.split(":", 1)[0]
    values = {
        "account_id": account_id,
        "kind": kind,
        "normal_side": NORMAL_SIDES[kind].value,
        "currency": currency,
        "opened_at": at,
    }
    ledger.open_account(conn, PREPAID_BOOKS, values)


def post(
    conn: Connection,
    *,
    reference: str,
    purpose: str,
    amount: Money,
    debit: str,
    credit: str,
    at: datetime,
) -> int | None:
    """Post one entry of the programme (see `pospay.ledger.post_entry`)."""
    return ledger.post_entry(
        conn,
        PREPAID_BOOKS,
        reference=reference,
        purpose=purpose,
        amount=amount,
        debit=debit,
        credit=credit,
        at=at,
    )


def balance(conn: Connection, account_id: str) -> Money:
    return ledger.balance(conn, PREPAID_BOOKS, account_id)


def reverse_movement(conn: Connection, reference: str, at: datetime) -> int:
    """Post the opposite of the entry `reference` moved, if any; the minor units that
    `recovery` had to cover because the account it came back from no longer held them.

    Posted at most once: the reversal and the shortfall are one entry each per reference.
    """
    e = prepaid_entry.c
    moved = conn.execute(
        select(e.entry_id, e.amount_minor, e.currency).where(
            e.reference == reference, e.purpose.not_in(["reversal", "shortfall"])
        )
    ).one_or_none()
    if moved is None or ledger.find_entry(conn, PREPAID_BOOKS, reference, "reversal"):
        return 0
    legs = ledger.entry_legs(conn, PREPAID_BOOKS, int(moved.entry_id))
    amount = Money(int(moved.amount_minor), moved.currency)
    back_from, back_to = legs["C"], legs["D"]
    available = _takeable(conn, back_from, amount)
    if available.minor:
        post(
            conn,
            reference=reference,
            purpose="reversal",
            amount=available,
            debit=back_from,
            credit=back_to,
            at=at,
        )
    short = amount - available
    if short.minor:
        open_programme_account(conn, RECOVERY_ACCOUNT, amount.currency, at)
        post(
            conn,
            reference=reference,
            purpose="shortfall",
            amount=short,
            debit=RECOVERY_ACCOUNT,
            credit=back_to,
            at=at,
        )
    return short.minor


def approved_movements(conn: Connection) -> dict[str, Money]:
    """Reference -> the signed amount each operation moved that still stands: a payment
    counts positive (taken from the card), a refund or top-up negative (given to it).
    Nothing of a reversed operation stands; a refunded payment still stands, because
    its refunds are operations of their own."""
    e, o = prepaid_entry.c, prepaid_operation.c
    rows = conn.execute(
        select(e.reference, e.purpose, e.amount_minor, e.currency)
        .join(prepaid_operation, o.reference == e.reference)
        .where(e.purpose.in_(list(_SIGN)), o.state == "approved")
    ).all()
    return {
        row.reference: Money(_SIGN[row.purpose] * int(row.amount_minor), row.currency)
        for row in rows
    }


def check(conn: Connection) -> ledger.LedgerCheck:
    """Invariant 6 over the programme's books."""
    return ledger.check_books(conn, PREPAID_BOOKS)


def _takeable(conn: Connection, account_id: str, amount: Money) -> Money:
    """How much of `amount` a debit to `account_id` can take without going below zero."""
    a = PREPAID_BOOKS.account.c
    row = conn.execute(
        select(a.balance_minor, a.normal_side).where(a.account_id == account_id)
    ).one()
    if row.normal_side == NormalSide.DEBIT.value:
        return amount  # a debit adds to a debit-normal account
    return Money(min(amount.minor, int(row.balance_minor)), amount.currency)
