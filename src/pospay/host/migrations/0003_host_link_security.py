"""Host: per-terminal working keys (link security).

Revision ID: host_0003
"""

revision = "host_0003"
down_revision = "host_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""


def downgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""
