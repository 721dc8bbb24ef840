"""Issuer: PIN verification values, PIN tries, ICC keys.

Revision ID: issuer_0002
"""

revision = "issuer_0002"
down_revision = "issuer_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""


def downgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""
