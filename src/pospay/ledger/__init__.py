"""Double-entry books, shared by every component that holds money: the card issuer
simulator (`pospay.issuer`) and the prepaid programme (`pospay.prepaid`).

Each component declares its own accounts, entries and postings tables (`Books`;
`entry_table` and `posting_table` declare the two that are the same everywhere) and
moves money only through `post_entry`, so that both keep the same promises: every
entry balances, no balance goes negative (a CHECK and a conditional update, never a
Python lock), and an entry is posted at most once per (reference, purpose).
"""

from pospay.ledger.books import Books, entry_table, posting_table
from pospay.ledger.postings import (
    LedgerCheck,
    NormalSide,
    TrialBalance,
    balance,
    balance_mismatches,
    check_books,
    entry_legs,
    find_entry,
    insert_unless_exists,
    negative_balances,
    open_account,
    post_entry,
    trial_balance,
    unbalanced_entries,
)

__all__ = [
    "Books",
    "LedgerCheck",
    "NormalSide",
    "TrialBalance",
    "balance",
    "balance_mismatches",
    "check_books",
    "entry_legs",
    "entry_table",
    "find_entry",
    "insert_unless_exists",
    "negative_balances",
    "open_account",
    "post_entry",
    "posting_table",
    "trial_balance",
    "unbalanced_entries",
]
