"""Wallet channel simulator: an index on the order status, so that moving on the orders
still waiting or paying does not read every order ever made.

Revision ID: wallets_0002
"""

from alembic import op

revision = "wallets_0002"
down_revision = "wallets_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_wallet_order_status", "wallet_order", ["status"])


def downgrade() -> None:
    op.drop_index("ix_wallet_order_status", table_name="wallet_order")
