"""The public face of pospay.issuer: exactly the intended names, each of them importable."""

from __future__ import annotations

import pospay.issuer


def test_exported_names() -> None:
    assert set(pospay.issuer.__all__) == {
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
    }
    assert all(hasattr(pospay.issuer, name) for name in pospay.issuer.__all__)


def test_every_table_belongs_to_the_issuer() -> None:
    assert all(name.startswith("issuer_") for name in pospay.issuer.metadata.tables)
