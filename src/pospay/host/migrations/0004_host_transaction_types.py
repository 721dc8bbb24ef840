"""Host: links from void, refund, completion and cancel to their originals.

Revision ID: host_0004
"""

revision = "host_0004"
down_revision = "host_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""


def downgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""
