"""Terminal: indexes for the lookups every follow-up makes, so they stay cheap as the
journal grows (found by the chaos simulation at 100,000 attempts).

- an original by voucher number (`journal.find_original`);
- the follow-ups of an original (`journal.apply_to_original` sums its refunds).

Revision ID: terminal_0011
"""

from alembic import op

revision = "terminal_0011"
down_revision = "terminal_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_terminal_journal_voucher", "terminal_journal", ["terminal_id", "voucher"])
    op.create_index("ix_terminal_journal_original", "terminal_journal", ["original_id"])


def downgrade() -> None:
    op.drop_index("ix_terminal_journal_original", table_name="terminal_journal")
    op.drop_index("ix_terminal_journal_voucher", table_name="terminal_journal")
