"""Terminal: links to original attempts.

Revision ID: terminal_0004
"""

revision = "terminal_0004"
down_revision = "terminal_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""


def downgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""
