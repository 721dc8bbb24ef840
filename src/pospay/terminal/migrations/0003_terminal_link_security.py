"""Terminal: working keys wrapped under the TMK.

Revision ID: terminal_0003
"""

revision = "terminal_0003"
down_revision = "terminal_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""


def downgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""
