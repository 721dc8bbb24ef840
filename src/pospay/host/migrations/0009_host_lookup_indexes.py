"""Host: indexes for the follow-up lookups that ran over the whole journal (found by the
chaos simulation at 100,000 attempts): the follow-ups of an original
(`journal.follow_ups`) and the reversals still open on one (`reversals`).

Revision ID: host_0009
"""

from alembic import op

revision = "host_0009"
down_revision = "host_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_host_journal_original", "host_journal", ["original_id"])
    op.create_index("ix_host_reversal_original", "host_reversal", ["original_id"])


def downgrade() -> None:
    op.drop_index("ix_host_reversal_original", table_name="host_reversal")
    op.drop_index("ix_host_journal_original", table_name="host_journal")
