"""Host: the refusal log, requests refused before they were authenticated.

A request from a terminal with no working keys (58) or with a missing or wrong MAC (A0)
was journaled, a sale or balance inquiry as a declined row under its duplicate key, so
one forged frame could spend a terminal's request key. From this revision such a
request changes nothing and is recorded in `host_refusal` instead (`host.refusals`).
Declined A0 and 58 rows already in the journal stay: they were answered, and a resend
of one is still answered from it.

Revision ID: host_0013
"""

import sqlalchemy as sa
from alembic import op

from pospay.storage.types import UtcDateTime

revision = "host_0013"
down_revision = "host_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_refusal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("refused_at", UtcDateTime(), nullable=False),
        sa.Column("terminal_id", sa.String(8), nullable=True),
        sa.Column("stan", sa.String(6), nullable=True),
        sa.Column("transmission_at", sa.String(10), nullable=True),
        sa.Column("mti", sa.String(4), nullable=False),
        sa.Column("processing_code", sa.String(6), nullable=True),
        sa.Column("response_code", sa.String(2), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("remote_address", sa.String(64), nullable=True),
    )
    op.create_index(
        "ix_host_refusal_request", "host_refusal", ["terminal_id", "stan", "transmission_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_host_refusal_request", table_name="host_refusal")
    op.drop_table("host_refusal")
