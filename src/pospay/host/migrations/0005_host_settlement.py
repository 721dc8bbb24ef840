"""Host: settlement of terminal batches.

Revision ID: host_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "host_0005"
down_revision = "host_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_settlement",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("batch", sa.String(6), nullable=False),
        sa.Column("merchant_id", sa.String(15), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("terminal_totals", sa.String(36), nullable=False),
        sa.Column("host_totals", sa.String(36), nullable=False),
        sa.Column("response_code", sa.String(2), nullable=False),
        sa.Column("after_upload", sa.Boolean, nullable=False),
        sa.Column("differences", sa.Text, nullable=False, server_default=""),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("terminal_id", "batch", name="uq_host_settlement_batch"),
    )
    op.create_table(
        "host_batch_upload",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("batch", sa.String(6), nullable=False),
        sa.Column("stan", sa.String(6), nullable=False),
        sa.Column("transmission_at", sa.String(10), nullable=False),
        sa.Column("original_mti", sa.String(4), nullable=False),
        sa.Column("original_stan", sa.String(6), nullable=False),
        sa.Column("original_transmission_at", sa.String(10), nullable=False),
        sa.Column("processing_code", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("rrn", sa.String(12), nullable=True),
        sa.Column("journal_id", sa.Integer, sa.ForeignKey("host_journal.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "terminal_id",
            "batch",
            "original_stan",
            "original_transmission_at",
            name="uq_host_batch_upload_attempt",
        ),
    )


def downgrade() -> None:
    op.drop_table("host_batch_upload")
    op.drop_table("host_settlement")
