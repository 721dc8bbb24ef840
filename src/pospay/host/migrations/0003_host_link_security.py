"""Host: per-terminal working keys (link security); earlier sign-ins end.

Revision ID: host_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "host_0003"
down_revision = "host_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_terminal_key",
        sa.Column("terminal_id", sa.String(8), primary_key=True),
        sa.Column("pin_key_wrapped", sa.LargeBinary, nullable=False),
        sa.Column("mac_key_wrapped", sa.LargeBinary, nullable=False),
        sa.Column("pin_key_kcv", sa.String(6), nullable=False),
        sa.Column("mac_key_kcv", sa.String(6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # A terminal signed in before the link was secured holds no working keys, and the MAC
    # check can only be skipped for a terminal that is not signed in. So every earlier
    # sign-in ends here: each terminal signs in again and receives its keys.
    op.execute("DELETE FROM host_terminal")


def downgrade() -> None:
    op.drop_table("host_terminal_key")
