"""Terminal counters, journal and receipts.

Revision ID: terminal_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0001"
down_revision = None
branch_labels = ("terminal",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terminal_state",
        sa.Column("terminal_id", sa.String(8), primary_key=True),
        sa.Column("merchant_id", sa.String(15), nullable=False),
        sa.Column("stan", sa.Integer, nullable=False),
        sa.Column("voucher", sa.Integer, nullable=False),
        sa.Column("batch", sa.Integer, nullable=False),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "terminal_journal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("local_ref", sa.String(32), nullable=False, unique=True),
        sa.Column("stan", sa.String(6), nullable=False),
        sa.Column("voucher", sa.String(6), nullable=False),
        sa.Column("batch", sa.String(6), nullable=False),
        sa.Column("transmission_at", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("method", sa.String(24), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("pan_masked", sa.String(19), nullable=False),
        sa.Column("brand", sa.String(16), nullable=False),
        sa.Column("operator", sa.String(16), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("response_code", sa.String(2), nullable=True),
        sa.Column("auth_code", sa.String(6), nullable=True),
        sa.Column("rrn", sa.String(12), nullable=True),
        sa.Column("balance_minor", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "terminal_id", "stan", "transmission_at", name="uq_terminal_journal_request"
        ),
    )
    op.create_table(
        "terminal_receipt",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("journal_id", sa.Integer, sa.ForeignKey("terminal_journal.id"), nullable=False),
        sa.Column("copy", sa.String(16), nullable=False),
        sa.Column("reprint_number", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("escpos", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint(
            "journal_id", "copy", "reprint_number", name="uq_terminal_receipt_copy"
        ),
    )


def downgrade() -> None:
    op.drop_table("terminal_receipt")
    op.drop_table("terminal_journal")
    op.drop_table("terminal_state")
