"""Terminal: links to original attempts.

Revision ID: terminal_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0004"
down_revision = "terminal_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite rebuilds the table to add a foreign key; receipts and reversals refer
        # to it meanwhile, so the foreign keys are checked at commit, not at the DROP.
        op.execute("PRAGMA defer_foreign_keys=ON")
    with op.batch_alter_table("terminal_journal") as batch:
        batch.add_column(
            sa.Column(
                "original_id",
                sa.Integer,
                sa.ForeignKey("terminal_journal.id", name="fk_terminal_journal_original"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("terminal_journal") as batch:
        batch.drop_constraint("fk_terminal_journal_original", type_="foreignkey")
        batch.drop_column("original_id")
