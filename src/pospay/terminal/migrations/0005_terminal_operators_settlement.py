"""Terminal: operators and settlement.

Revision ID: terminal_0005
"""

revision = "terminal_0005"
down_revision = "terminal_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""


def downgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""
