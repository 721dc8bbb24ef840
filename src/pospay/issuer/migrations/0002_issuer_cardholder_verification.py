"""Issuer: PIN verification values, PIN tries, ICC keys.

Revision ID: issuer_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "issuer_0002"
down_revision = "issuer_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issuer_card_pin",
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("issuer_account.account_id", name="fk_issuer_card_pin_account"),
            primary_key=True,
        ),
        sa.Column("pin_offset", sa.String(12), nullable=False),
        sa.Column("wrong_tries", sa.Integer, nullable=False),
        sa.CheckConstraint("wrong_tries >= 0", name="ck_issuer_card_pin_tries"),
    )


def downgrade() -> None:
    op.drop_table("issuer_card_pin")
