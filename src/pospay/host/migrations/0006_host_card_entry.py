"""Host: POS entry mode, card sequence number and issuer authentication data.

Revision ID: host_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "host_0006"
down_revision = "host_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("host_journal", sa.Column("pos_entry_mode", sa.String(3), nullable=True))
    op.add_column("host_journal", sa.Column("card_sequence", sa.String(3), nullable=True))
    op.add_column("host_journal", sa.Column("issuer_auth_data", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("host_journal") as batch:
        batch.drop_column("issuer_auth_data")
        batch.drop_column("card_sequence")
        batch.drop_column("pos_entry_mode")
