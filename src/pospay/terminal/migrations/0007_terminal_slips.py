"""Terminal: slips that are not transaction receipts (the reversal-failure slip).

Revision ID: terminal_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0007"
down_revision = "terminal_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terminal_slip",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column(
            "reversal_id",
            sa.Integer,
            sa.ForeignKey("terminal_reversal.id"),
            nullable=True,
            unique=True,
        ),
        sa.Column("voucher", sa.String(6), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("escpos", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("terminal_slip")
