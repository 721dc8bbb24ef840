"""The issuer's double-entry ledger: its accounts and purposes, and the auditor's read-backs.

The mechanism is `pospay.ledger`'s, over the issuer's books (`ISSUER_BOOKS`): every
movement is one balanced entry, no balance goes below zero (a conditional update and
a CHECK), and an entry is posted at most once per (reference, purpose). This module
adds what is the issuer's own: its kinds of account, the purposes of its entries,
which movements of an attempt still stand (`approved_movements`) and how a reversal
posts the opposite of an attempt's entries (`reverse_entries`).

Functions take a SQLAlchemy `Connection` in a transaction; they neither commit nor
roll back the caller's work. `post_entry` runs inside a SAVEPOINT of its own, so a
refused entry leaves nothing behind and the caller can go on to record the refusal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, select

from pospay import ledger
from pospay.issuer.tables import ISSUER_BOOKS, issuer_authorisation, issuer_entry
from pospay.ledger import NormalSide, TrialBalance
from pospay.money import Money

__all__ = [
    "Account",
    "AccountKind",
    "NormalSide",
    "Purpose",
    "TrialBalance",
    "approved_movements",
    "balance",
    "balance_mismatches",
    "find_entry",
    "negative_balances",
    "open_account",
    "post_entry",
    "reverse_entries",
    "trial_balance",
    "unbalanced_entries",
]


class AccountKind(StrEnum):
    CARD = "card"  # a cardholder's funds: a liability of the issuer, credit-normal
    SETTLEMENT = "settlement"  # what the issuer owes the acquirer, credit-normal
    FUNDING = "funding"  # the issuer's cash that funded the cards, debit-normal
    HOLDS = "holds"  # money pre-authorisations set aside from cards, credit-normal


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
    card_sequence: str | None = None


def open_account(conn: Connection, account: Account) -> bool:
    """Open `account` with a zero balance; False (and no change) if its id is already open."""
    return ledger.open_account(conn, ISSUER_BOOKS, asdict(account))


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
    """Move `amount` from `debit` to `credit` once per (`reference`, `purpose`); the entry
    id, or None when it was posted before (see `pospay.ledger.post_entry` for refusals)."""
    return ledger.post_entry(
        conn,
        ISSUER_BOOKS,
        reference=reference,
        purpose=purpose.value,
        amount=amount,
        debit=debit,
        credit=credit,
        at=at,
    )


def find_entry(conn: Connection, reference: str, purpose: Purpose) -> int | None:
    """The id of the entry for (`reference`, `purpose`), if it was posted."""
    return ledger.find_entry(conn, ISSUER_BOOKS, reference, purpose.value)


def balance(conn: Connection, account_id: str) -> Money:
    """The balance of `account_id` on its normal side."""
    return ledger.balance(conn, ISSUER_BOOKS, account_id)


def trial_balance(conn: Connection) -> TrialBalance:
    """Sum of all debit postings and of all credit postings; equal in a sound ledger."""
    return ledger.trial_balance(conn, ISSUER_BOOKS)


def negative_balances(conn: Connection) -> int:
    """How many accounts have a negative balance; 0 in a sound ledger."""
    return ledger.negative_balances(conn, ISSUER_BOOKS)


def unbalanced_entries(conn: Connection) -> int:
    """How many entries' debits differ from their credits or their amount; 0 in a sound ledger."""
    return ledger.unbalanced_entries(conn, ISSUER_BOOKS)


def balance_mismatches(conn: Connection) -> int:
    """How many accounts' balances differ from the sum of their postings; 0 in a sound ledger."""
    return ledger.balance_mismatches(conn, ISSUER_BOOKS)


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
    e = issuer_entry.c
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
        legs = ledger.entry_legs(conn, ISSUER_BOOKS, int(entry.entry_id))
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
