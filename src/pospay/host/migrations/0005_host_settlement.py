"""Host: settlement of terminal batches.

Revision ID: host_0005
"""

revision = "host_0005"
down_revision = "host_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""


def downgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""
