"""Terminal: POS entry mode, card sequence number and the chip data kept for receipts.

Revision ID: terminal_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "terminal_0006"
down_revision = "terminal_0005"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("pos_entry_mode", sa.String(3)),
    ("card_sequence", sa.String(3)),
    ("emv_aid", sa.String(32)),
    ("emv_label", sa.String(16)),
    ("emv_tvr", sa.String(10)),
    ("emv_tsi", sa.String(4)),
    ("emv_atc", sa.Integer()),
    ("emv_arqc", sa.String(16)),
)


def upgrade() -> None:
    for name, type_ in _COLUMNS:
        op.add_column("terminal_journal", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("terminal_journal") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
