"""Host: tombstones, journal rows for request keys the host refuses in advance.

Revision ID: host_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "host_0008"
down_revision = "host_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("host_journal", sa.Column("tombstone", sa.String(12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("host_journal") as batch:
        batch.drop_column("tombstone")
