"""Terminal: working keys wrapped under the TMK.

Revision ID: terminal_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0003"
down_revision = "terminal_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terminal_key",
        sa.Column("terminal_id", sa.String(8), primary_key=True),
        sa.Column("pin_key_under_tmk", sa.LargeBinary, nullable=False),
        sa.Column("mac_key_under_tmk", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("terminal_key")
