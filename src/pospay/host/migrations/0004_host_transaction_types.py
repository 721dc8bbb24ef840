"""Host: links from void, refund, completion and cancel to their originals.

Revision ID: host_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "host_0004"
down_revision = "host_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite rebuilds the table to add a foreign key; rows of host_reversal refer to
        # it meanwhile, so the foreign keys are checked at commit, not at the DROP.
        op.execute("PRAGMA defer_foreign_keys=ON")
    with op.batch_alter_table("host_journal") as batch:
        batch.add_column(
            sa.Column(
                "original_id",
                sa.Integer,
                sa.ForeignKey("host_journal.id", name="fk_host_journal_original"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("host_journal") as batch:
        batch.drop_constraint("fk_host_journal_original", type_="foreignkey")
        batch.drop_column("original_id")
