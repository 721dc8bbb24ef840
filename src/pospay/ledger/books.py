"""The three tables of a set of double-entry books, and how to declare two of them.

A component that keeps money in double entry (the card issuer simulator, the prepaid
programme) owns an accounts table, an entries table and a postings table of its own,
named with its prefix, in its own Alembic branch. `Books` names the three so that the
functions of `pospay.ledger.postings` work on any of them.

An accounts table needs at least ``account_id`` (primary key), ``kind``,
``normal_side`` ('debit' | 'credit'), ``currency`` and ``balance_minor`` with a CHECK
that the balance is not negative; the component adds the columns its accounts need.
The entries and postings tables are the same for every component, so `entry_table`
and `posting_table` declare them, with constraint names derived from the prefix that
the components' migrations spell out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.types import TypeEngine


@dataclass(frozen=True, slots=True)
class Books:
    """One component's accounts, entries and postings tables."""

    account: Table
    entry: Table
    posting: Table


def entry_table(
    metadata: MetaData,
    prefix: str,
    purposes: Sequence[str],
    *,
    timestamp: TypeEngine[Any] | None = None,
) -> Table:
    """``<prefix>_entry``: one row per movement of money, at most one per (reference, purpose)."""
    allowed = ", ".join(f"'{purpose}'" for purpose in purposes)
    return Table(
        f"{prefix}_entry",
        metadata,
        Column("entry_id", Integer, primary_key=True, autoincrement=True),
        Column("reference", String(64), nullable=False),
        Column("purpose", String(16), nullable=False),
        Column("amount_minor", BigInteger, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("created_at", timestamp or DateTime(timezone=True), nullable=False),
        # The same request can never move money twice for the same purpose.
        UniqueConstraint("reference", "purpose", name=f"uq_{prefix}_entry_reference_purpose"),
        CheckConstraint(f"purpose IN ({allowed})", name=f"ck_{prefix}_entry_purpose"),
        CheckConstraint("amount_minor > 0", name=f"ck_{prefix}_entry_amount_positive"),
    )


def posting_table(metadata: MetaData, prefix: str) -> Table:
    """``<prefix>_posting``: the two legs of every entry, one per account it touches."""
    return Table(
        f"{prefix}_posting",
        metadata,
        Column(
            "entry_id",
            Integer,
            ForeignKey(f"{prefix}_entry.entry_id", name=f"fk_{prefix}_posting_entry"),
            primary_key=True,
        ),
        # An entry touches an account at most once.
        Column(
            "account_id",
            String(64),
            ForeignKey(f"{prefix}_account.account_id", name=f"fk_{prefix}_posting_account"),
            primary_key=True,
        ),
        Column("side", String(1), nullable=False),
        Column("amount_minor", BigInteger, nullable=False),
        CheckConstraint("side IN ('D', 'C')", name=f"ck_{prefix}_posting_side"),
        CheckConstraint("amount_minor > 0", name=f"ck_{prefix}_posting_amount_positive"),
        Index(f"ix_{prefix}_posting_account_id", "account_id"),
    )
