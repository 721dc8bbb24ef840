"""The card issuer simulator: accounts, test cards, magic amounts and a double-entry ledger.

`IssuerSimulator` is the `CardChannel` the host authorises through. The ledger's
read-backs (`trial_balance`, `negative_balances`, `unbalanced_entries`,
`balance_mismatches`, `approved_movements`) are what the auditor checks against
the host's journal. The test cards and magic amounts are documented in
``docs/test-cards.md``.
"""

from pospay.issuer.ledger import (
    Account,
    AccountKind,
    NormalSide,
    Purpose,
    TrialBalance,
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
from pospay.issuer.simulator import FUNDING_ACCOUNT, SETTLEMENT_ACCOUNT, IssuerSimulator
from pospay.issuer.tables import metadata
from pospay.issuer.test_cards import (
    MAGIC_AMOUNTS,
    SINGLE_SALE_LIMIT,
    TEST_CARDS,
    UNKNOWN_CARD_PAN,
    TestCard,
)

__all__ = [
    "FUNDING_ACCOUNT",
    "MAGIC_AMOUNTS",
    "SETTLEMENT_ACCOUNT",
    "SINGLE_SALE_LIMIT",
    "TEST_CARDS",
    "UNKNOWN_CARD_PAN",
    "Account",
    "AccountKind",
    "IssuerSimulator",
    "NormalSide",
    "Purpose",
    "TestCard",
    "TrialBalance",
    "approved_movements",
    "balance",
    "balance_mismatches",
    "find_entry",
    "metadata",
    "negative_balances",
    "open_account",
    "post_entry",
    "trial_balance",
    "unbalanced_entries",
]
