"""Terminal: the audit trail of reprint requests, granted or refused.

Revision ID: terminal_0010
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0010"
down_revision = "terminal_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terminal_reprint_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("operator", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(12), nullable=True),
        sa.Column("journal_id", sa.Integer, sa.ForeignKey("terminal_journal.id"), nullable=True),
        sa.Column("batch", sa.String(6), nullable=True),
        sa.Column("copies", sa.String(64), nullable=True),
        sa.Column("slip_id", sa.Integer, sa.ForeignKey("terminal_slip.id"), nullable=True),
        sa.Column("supervisor", sa.String(16), nullable=True),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("terminal_reprint_audit")
