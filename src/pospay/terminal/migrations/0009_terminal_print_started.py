"""Terminal: the print queue marks a job started before it prints; unprinted receipts indexed.

A job whose print started but was never marked printed was cut off by a crash: the
paper may have come out. The queue then prints it again as a marked copy, never as a
second original, and counts the interruption.

Revision ID: terminal_0009
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0009"
down_revision = "terminal_0008"
branch_labels = None
depends_on = None

_PRINTED_TABLES = ("terminal_receipt", "terminal_slip", "terminal_settlement")


def upgrade() -> None:
    for table in _PRINTED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("print_started_at", sa.DateTime(timezone=True)))
            batch.add_column(
                sa.Column("print_interruptions", sa.Integer, nullable=False, server_default="0")
            )
    op.create_index(
        "ix_terminal_receipt_unprinted",
        "terminal_receipt",
        ["journal_id"],
        sqlite_where=sa.text("printed_at IS NULL"),
        postgresql_where=sa.text("printed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_terminal_receipt_unprinted", table_name="terminal_receipt")
    for table in _PRINTED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("print_interruptions")
            batch.drop_column("print_started_at")
