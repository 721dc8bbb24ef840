"""Terminal: operators and settlement.

Revision ID: terminal_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0005"
down_revision = "terminal_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("terminal_journal", sa.Column("supervisor", sa.String(16), nullable=True))
    op.create_table(
        "terminal_operator",
        sa.Column("terminal_id", sa.String(8), primary_key=True),
        sa.Column("operator_id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "terminal_settlement",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("terminal_id", sa.String(8), nullable=False),
        sa.Column("batch", sa.String(6), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("operator", sa.String(16), nullable=False),
        sa.Column("supervisor", sa.String(16), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("debit_count", sa.Integer, nullable=False),
        sa.Column("debit_minor", sa.BigInteger, nullable=False),
        sa.Column("credit_count", sa.Integer, nullable=False),
        sa.Column("credit_minor", sa.BigInteger, nullable=False),
        sa.Column("host_totals", sa.String(36), nullable=True),
        sa.Column("response_code", sa.String(2), nullable=True),
        sa.Column("after_upload", sa.Boolean, nullable=False),
        sa.Column("uploaded", sa.Integer, nullable=False),
        sa.Column("slip_text", sa.Text, nullable=True),
        sa.Column("slip_escpos", sa.LargeBinary, nullable=True),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("terminal_id", "batch", name="uq_terminal_settlement_batch"),
    )


def downgrade() -> None:
    op.drop_table("terminal_settlement")
    op.drop_table("terminal_operator")
    with op.batch_alter_table("terminal_journal") as batch:
        batch.drop_column("supervisor")
