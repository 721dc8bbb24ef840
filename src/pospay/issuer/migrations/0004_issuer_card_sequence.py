"""Issuer: each card's PAN sequence number (PSN) on its account.

The PSN selects, with the PAN, the chip's ICC master key, and a card is verified under
its own PSN, never under the one a request claims. Cards opened before this revision
get theirs when the issuer installs its cards again (`IssuerSimulator.install_test_cards`
runs at every host start).

Revision ID: issuer_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "issuer_0004"
down_revision = "issuer_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issuer_account") as batch:
        batch.add_column(sa.Column("card_sequence", sa.String(2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issuer_account") as batch:
        batch.drop_column("card_sequence")
