"""Prepaid programme: accounts (cards among them), entries, postings, daily spending and
the answer to every reference.

Revision ID: prepaid_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "prepaid_0001"
down_revision = None
branch_labels = ("prepaid",)
depends_on = None

_CARD = (
    "kind <> 'card' OR (pan_ref IS NOT NULL AND status IN "
    "('issued', 'active', 'frozen', 'expired', 'closed'))"
)


def upgrade() -> None:
    op.create_table(
        "prepaid_account",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("normal_side", sa.String(6), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(8), nullable=True),
        sa.Column("pan_ref", sa.String(32), nullable=True, unique=True),
        sa.Column("pan_masked", sa.String(19), nullable=True),
        sa.Column("expiry", sa.String(4), nullable=True),
        sa.Column("max_balance_minor", sa.BigInteger, nullable=True),
        sa.Column("daily_spend_minor", sa.BigInteger, nullable=True),
        sa.Column("pin_offset", sa.String(12), nullable=True),
        sa.Column("wrong_pin_tries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('card', 'merchant', 'cash', 'card_sales', 'expired', 'recovery')",
            name="ck_prepaid_account_kind",
        ),
        sa.CheckConstraint(
            "normal_side IN ('debit', 'credit')", name="ck_prepaid_account_normal_side"
        ),
        sa.CheckConstraint("balance_minor >= 0", name="ck_prepaid_account_balance_not_negative"),
        sa.CheckConstraint(_CARD, name="ck_prepaid_account_card"),
        sa.CheckConstraint("wrong_pin_tries >= 0", name="ck_prepaid_account_pin_tries"),
    )
    op.create_table(
        "prepaid_entry",
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reference", "purpose", name="uq_prepaid_entry_reference_purpose"),
        sa.CheckConstraint(
            "purpose IN ('pay', 'refund', 'top_up', 'card_top_up', 'reversal', 'shortfall', "
            "'expiry')",
            name="ck_prepaid_entry_purpose",
        ),
        sa.CheckConstraint("amount_minor > 0", name="ck_prepaid_entry_amount_positive"),
    )
    op.create_table(
        "prepaid_posting",
        sa.Column(
            "entry_id",
            sa.Integer,
            sa.ForeignKey("prepaid_entry.entry_id", name="fk_prepaid_posting_entry"),
            primary_key=True,
        ),
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("prepaid_account.account_id", name="fk_prepaid_posting_account"),
            primary_key=True,
        ),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint("side IN ('D', 'C')", name="ck_prepaid_posting_side"),
        sa.CheckConstraint("amount_minor > 0", name="ck_prepaid_posting_amount_positive"),
    )
    op.create_index("ix_prepaid_posting_account_id", "prepaid_posting", ["account_id"])
    op.create_table(
        "prepaid_daily_spend",
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("prepaid_account.account_id", name="fk_prepaid_daily_spend_account"),
            primary_key=True,
        ),
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("spent_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint("spent_minor >= 0", name="ck_prepaid_daily_spend_not_negative"),
    )
    op.create_table(
        "prepaid_operation",
        sa.Column("reference", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=True),
        sa.Column("pan_masked", sa.String(19), nullable=True),
        sa.Column("merchant_id", sa.String(15), nullable=True),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("response_code", sa.String(2), nullable=False),
        sa.Column("auth_code", sa.String(6), nullable=True),
        sa.Column("balance_minor", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("original_reference", sa.String(64), nullable=True),
        sa.Column("funding_reference", sa.String(64), nullable=True),
        sa.Column("undone_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status_before", sa.String(8), nullable=True),
        sa.Column("spend_day", sa.String(8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("funding_reference", name="uq_prepaid_operation_funding"),
        sa.CheckConstraint(
            "state IN ('approved', 'declined', 'reversed')", name="ck_prepaid_operation_state"
        ),
        sa.CheckConstraint(
            "undone_minor >= 0 AND undone_minor <= amount_minor",
            name="ck_prepaid_operation_undone",
        ),
        sa.CheckConstraint("amount_minor >= 0", name="ck_prepaid_operation_amount"),
    )


def downgrade() -> None:
    op.drop_table("prepaid_operation")
    op.drop_table("prepaid_daily_spend")
    op.drop_index("ix_prepaid_posting_account_id", table_name="prepaid_posting")
    op.drop_table("prepaid_posting")
    op.drop_table("prepaid_entry")
    op.drop_table("prepaid_account")
