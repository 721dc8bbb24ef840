"""Reversals received from terminals (0400), under their own duplicate key.

Revision ID: host_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "host_0002"
down_revision = "host_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_reversal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("stan", sa.String(6), nullable=False),
        sa.Column("transmission_at", sa.String(10), nullable=False),
        sa.Column("merchant_id", sa.String(15), nullable=False),
        sa.Column("processing_code", sa.String(6), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("batch", sa.String(6), nullable=False),
        sa.Column("original_mti", sa.String(4), nullable=False),
        sa.Column("original_stan", sa.String(6), nullable=False),
        sa.Column("original_transmission_at", sa.String(10), nullable=False),
        sa.Column("original_id", sa.Integer, sa.ForeignKey("host_journal.id"), nullable=True),
        sa.Column("reason_code", sa.String(2), nullable=False),
        sa.Column("response_code", sa.String(2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "terminal_id", "stan", "transmission_at", name="uq_host_reversal_request"
        ),
    )


def downgrade() -> None:
    op.drop_table("host_reversal")
