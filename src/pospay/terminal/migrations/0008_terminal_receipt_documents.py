"""Terminal: the signed document of each receipt, chained per terminal (e-receipts).

Revision ID: terminal_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0008"
down_revision = "terminal_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terminal_receipt_document",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "receipt_id",
            sa.Integer,
            sa.ForeignKey("terminal_receipt.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("counter", sa.Integer, nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("terminal_id", "counter", name="uq_terminal_receipt_document_counter"),
    )


def downgrade() -> None:
    op.drop_table("terminal_receipt_document")
