"""Terminal: the questions asked before and after every attempt answered by index, at a
cost that follows what is pending rather than the whole journal (found by timing the
chaos simulation's statements at 3,000 and 12,000 attempts):

- the print queue's unprinted receipts: each receipt row now names its terminal, so the
  partial index of unprinted rows is searched by terminal instead of visiting every
  attempt of the terminal (existing rows take their attempt's terminal);
- the pending reversals, sent before every transaction;
- the attempts still in flight, looked for at every start.

Revision ID: terminal_0013
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0013"
down_revision = "terminal_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("terminal_receipt") as batch:
        batch.add_column(sa.Column("terminal_id", sa.String(8), nullable=True))
    op.execute(
        "UPDATE terminal_receipt SET terminal_id = (SELECT terminal_journal.terminal_id"
        " FROM terminal_journal WHERE terminal_journal.id = terminal_receipt.journal_id)"
    )
    op.drop_index("ix_terminal_receipt_unprinted", table_name="terminal_receipt")
    with op.batch_alter_table("terminal_receipt") as batch:
        batch.alter_column("terminal_id", existing_type=sa.String(8), nullable=False)
    _unprinted_index("terminal_id")
    op.create_index("ix_terminal_reversal_state", "terminal_reversal", ["terminal_id", "state"])
    op.create_index("ix_terminal_journal_state", "terminal_journal", ["terminal_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_terminal_journal_state", table_name="terminal_journal")
    op.drop_index("ix_terminal_reversal_state", table_name="terminal_reversal")
    op.drop_index("ix_terminal_receipt_unprinted", table_name="terminal_receipt")
    with op.batch_alter_table("terminal_receipt") as batch:
        batch.drop_column("terminal_id")
    _unprinted_index("journal_id")


def _unprinted_index(column: str) -> None:
    op.create_index(
        "ix_terminal_receipt_unprinted",
        "terminal_receipt",
        [column],
        sqlite_where=sa.text("printed_at IS NULL"),
        postgresql_where=sa.text("printed_at IS NULL"),
    )
