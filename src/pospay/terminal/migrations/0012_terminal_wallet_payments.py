"""Terminal: QR wallet payments in the journal: the wallet, the host's order number there
(the merchant QR's order reference, so a shown code is known as used), the wallet's trade
number and the payer as the wallet masked it, for receipts.

Revision ID: terminal_0012
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0012"
down_revision = "terminal_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("terminal_journal") as batch:
        batch.add_column(sa.Column("wallet", sa.String(16), nullable=True))
        batch.add_column(sa.Column("wallet_order", sa.String(64), nullable=True))
        batch.add_column(sa.Column("wallet_trade_no", sa.String(64), nullable=True))
        batch.add_column(sa.Column("payer_masked", sa.String(32), nullable=True))
    op.create_index(
        "ix_terminal_journal_wallet_order", "terminal_journal", ["wallet_order"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_terminal_journal_wallet_order", table_name="terminal_journal")
    with op.batch_alter_table("terminal_journal") as batch:
        for name in ("payer_masked", "wallet_trade_no", "wallet_order", "wallet"):
            batch.drop_column(name)
