"""Issuer ledger: accounts, journal entries, postings and stored authorisation answers.

Revision ID: issuer_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "issuer_0001"
down_revision = None
branch_labels = ("issuer",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issuer_account",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("normal_side", sa.String(6), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pan_ref", sa.String(32), nullable=True, unique=True),
        sa.Column("pan_masked", sa.String(19), nullable=True),
        sa.Column("brand", sa.String(16), nullable=True),
        sa.Column("expiry", sa.String(4), nullable=True),
        sa.Column("holder_name", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "kind IN ('card', 'settlement', 'funding')", name="ck_issuer_account_kind"
        ),
        sa.CheckConstraint(
            "normal_side IN ('debit', 'credit')", name="ck_issuer_account_normal_side"
        ),
        sa.CheckConstraint("status IN ('active', 'restricted')", name="ck_issuer_account_status"),
        sa.CheckConstraint("balance_minor >= 0", name="ck_issuer_account_balance_not_negative"),
        sa.CheckConstraint(
            "kind <> 'card' OR pan_ref IS NOT NULL", name="ck_issuer_account_card_pan_ref"
        ),
    )
    op.create_table(
        "issuer_entry",
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reference", "purpose", name="uq_issuer_entry_reference_purpose"),
        sa.CheckConstraint(
            "purpose IN ('funding', 'sale', 'reversal')", name="ck_issuer_entry_purpose"
        ),
        sa.CheckConstraint("amount_minor > 0", name="ck_issuer_entry_amount_positive"),
    )
    op.create_table(
        "issuer_posting",
        sa.Column(
            "entry_id",
            sa.Integer,
            sa.ForeignKey("issuer_entry.entry_id", name="fk_issuer_posting_entry"),
            primary_key=True,
        ),
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("issuer_account.account_id", name="fk_issuer_posting_account"),
            primary_key=True,
        ),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint("side IN ('D', 'C')", name="ck_issuer_posting_side"),
        sa.CheckConstraint("amount_minor > 0", name="ck_issuer_posting_amount_positive"),
    )
    op.create_index("ix_issuer_posting_account_id", "issuer_posting", ["account_id"])
    op.create_table(
        "issuer_authorisation",
        sa.Column("reference", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("pan_ref", sa.String(32), nullable=True),
        sa.Column("pan_masked", sa.String(19), nullable=True),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("response_code", sa.String(2), nullable=False),
        sa.Column("auth_code", sa.String(6), nullable=True),
        sa.Column("balance_minor", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column(
            "entry_id",
            sa.Integer,
            sa.ForeignKey("issuer_entry.entry_id", name="fk_issuer_authorisation_entry"),
            nullable=True,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('approved', 'declined', 'reversed')",
            name="ck_issuer_authorisation_state",
        ),
        sa.CheckConstraint("amount_minor >= 0", name="ck_issuer_authorisation_amount"),
    )


def downgrade() -> None:
    op.drop_table("issuer_authorisation")
    op.drop_index("ix_issuer_posting_account_id", table_name="issuer_posting")
    op.drop_table("issuer_posting")
    op.drop_table("issuer_entry")
    op.drop_table("issuer_account")
