"""The terminal's reversal queue (store and forward).

Revision ID: terminal_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0002"
down_revision = "terminal_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terminal_reversal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "journal_id",
            sa.Integer,
            sa.ForeignKey("terminal_journal.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("reason_code", sa.String(2), nullable=False),
        sa.Column("stan", sa.String(6), nullable=False),
        sa.Column("transmission_at", sa.String(10), nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("response_code", sa.String(2), nullable=True),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("terminal_reversal")
