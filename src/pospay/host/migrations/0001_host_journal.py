"""Host journal and terminal registry.

Revision ID: host_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "host_0001"
down_revision = None
branch_labels = ("host",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_journal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("stan", sa.String(6), nullable=False),
        sa.Column("transmission_at", sa.String(10), nullable=False),
        sa.Column("merchant_id", sa.String(15), nullable=False),
        sa.Column("mti", sa.String(4), nullable=False),
        sa.Column("processing_code", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("method", sa.String(24), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("pan_masked", sa.String(19), nullable=False),
        sa.Column("pan_ref", sa.String(32), nullable=False),
        sa.Column("batch", sa.String(6), nullable=False),
        sa.Column("rrn", sa.String(12), nullable=True, unique=True),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("response_code", sa.String(2), nullable=True),
        sa.Column("auth_code", sa.String(6), nullable=True),
        sa.Column("balance_minor", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "terminal_id", "stan", "transmission_at", name="uq_host_journal_request"
        ),
        sa.CheckConstraint("amount_minor >= 0", name="ck_host_journal_amount"),
    )
    op.create_table(
        "host_terminal",
        sa.Column("terminal_id", sa.String(8), primary_key=True),
        sa.Column("merchant_id", sa.String(15), nullable=False),
        sa.Column("batch", sa.String(6), nullable=False),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sign_ins", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("host_terminal")
    op.drop_table("host_journal")
