"""Host: QR wallet payments in the journal: which wallet, the host's order number there
(unique: the wallet's idempotency key and what notifications name), the wallet's trade
number and the payer as the wallet masked it.

Revision ID: host_0011
"""

import sqlalchemy as sa
from alembic import op

revision = "host_0011"
down_revision = "host_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("host_journal") as batch:
        batch.add_column(sa.Column("wallet", sa.String(16), nullable=True))
        batch.add_column(sa.Column("wallet_order", sa.String(64), nullable=True))
        batch.add_column(sa.Column("wallet_trade_no", sa.String(64), nullable=True))
        batch.add_column(sa.Column("payer_masked", sa.String(32), nullable=True))
    op.create_index("ix_host_journal_wallet_order", "host_journal", ["wallet_order"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_host_journal_wallet_order", table_name="host_journal")
    with op.batch_alter_table("host_journal") as batch:
        for name in ("payer_masked", "wallet_trade_no", "wallet_order", "wallet"):
            batch.drop_column(name)
