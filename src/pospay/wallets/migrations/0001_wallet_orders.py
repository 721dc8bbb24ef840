"""Wallet channel simulator: payers, orders, refunds, used payment codes, notifications.

Revision ID: wallets_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "wallets_0001"
down_revision = None
branch_labels = ("wallets",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallet_payer",
        sa.Column("payer_id", sa.String(24), primary_key=True),
        sa.Column("wallet", sa.String(16), nullable=False),
        sa.Column("payer_masked", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("opening_minor", sa.BigInteger, nullable=False),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint("balance_minor >= 0", name="ck_wallet_payer_balance_not_negative"),
    )
    op.create_table(
        "wallet_order",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("wallet", sa.String(16), nullable=False),
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("order_no", sa.String(64), nullable=False),
        sa.Column("scene", sa.String(8), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payer_id", sa.String(24), sa.ForeignKey("wallet_payer.payer_id"), nullable=True),
        sa.Column("trade_no", sa.String(64), nullable=True, unique=True),
        sa.Column("failure", sa.String(24), nullable=True),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("notify_url", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("wallet", "merchant_id", "order_no", name="uq_wallet_order_number"),
        sa.CheckConstraint("amount_minor >= 0", name="ck_wallet_order_amount"),
        sa.CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= amount_minor",
            name="ck_wallet_order_refunded",
        ),
    )
    op.create_table(
        "wallet_refund",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("wallet", sa.String(16), nullable=False),
        sa.Column("merchant_id", sa.String(32), nullable=False),
        sa.Column("refund_no", sa.String(64), nullable=False),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("wallet_order.id"), nullable=True),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("wallet", "merchant_id", "refund_no", name="uq_wallet_refund_number"),
    )
    op.create_index("ix_wallet_refund_order", "wallet_refund", ["order_id"])
    op.create_table(
        "wallet_code",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("wallet_order.id"), nullable=False),
    )
    op.create_table(
        "wallet_notification",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("wallet_order.id"), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("copies", sa.Integer, nullable=False, server_default="1"),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_wallet_notification_due", "wallet_notification", ["delivered_at", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_wallet_notification_due", "wallet_notification")
    op.drop_table("wallet_notification")
    op.drop_table("wallet_code")
    op.drop_index("ix_wallet_refund_order", "wallet_refund")
    op.drop_table("wallet_refund")
    op.drop_table("wallet_order")
    op.drop_table("wallet_payer")
