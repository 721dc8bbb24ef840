"""Issuer: pre-authorisation holds, refunds and transfers.

Revision ID: issuer_0003
"""

revision = "issuer_0003"
down_revision = "issuer_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""


def downgrade() -> None:
    """Filled in by the change that introduces these tables or columns."""
