"""Host: how often each request was answered again as a duplicate transmission.

Revision ID: host_0007
"""

import sqlalchemy as sa
from alembic import op

from pospay.storage.types import UtcDateTime

revision = "host_0007"
down_revision = "host_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "host_journal",
        sa.Column("replays", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column("host_journal", sa.Column("last_replay_at", UtcDateTime(), nullable=True))
    op.add_column("host_journal", sa.Column("last_replay_code", sa.String(2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("host_journal") as batch:
        batch.drop_column("last_replay_code")
        batch.drop_column("last_replay_at")
        batch.drop_column("replays")
