"""Host: an index for the recovery job's question, which attempts are not final yet and
since when (`host.recovery`), so that it does not read the whole journal on every run
(found by timing the chaos simulation's statements at 3,000 and 12,000 attempts).

Revision ID: host_0012
"""

from alembic import op

revision = "host_0012"
down_revision = "host_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_host_journal_state", "host_journal", ["state", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_host_journal_state", table_name="host_journal")
