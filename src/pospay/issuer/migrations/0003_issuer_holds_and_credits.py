"""Issuer: pre-authorisation holds, refunds and transfers.

A holds account (credit-normal) carries the money pre-authorisations set aside; entries
get the purposes of the new transaction types; an authorisation remembers the attempt
it acts on and how much of it later attempts have undone (voided, refunded, released).

Revision ID: issuer_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "issuer_0003"
down_revision = "issuer_0002"
branch_labels = None
depends_on = None

_KINDS_BEFORE = "kind IN ('card', 'settlement', 'funding')"
_KINDS = "kind IN ('card', 'settlement', 'funding', 'holds')"
_PURPOSES_BEFORE = "purpose IN ('funding', 'sale', 'reversal')"
_PURPOSES = (
    "purpose IN ('funding', 'sale', 'reversal', 'void', 'refund', 'hold', 'release', "
    "'completion', 'transfer')"
)
_UNDONE = "undone_minor >= 0 AND undone_minor <= amount_minor"


def _defer_foreign_keys() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite rebuilds a table to change a CHECK; postings and authorisations refer to
        # the rebuilt tables meanwhile, so foreign keys are checked at commit instead.
        op.execute("PRAGMA defer_foreign_keys=ON")


def upgrade() -> None:
    _defer_foreign_keys()
    with op.batch_alter_table("issuer_account") as batch:
        batch.drop_constraint("ck_issuer_account_kind", type_="check")
        batch.create_check_constraint("ck_issuer_account_kind", _KINDS)
    with op.batch_alter_table("issuer_entry") as batch:
        batch.drop_constraint("ck_issuer_entry_purpose", type_="check")
        batch.create_check_constraint("ck_issuer_entry_purpose", _PURPOSES)
    with op.batch_alter_table("issuer_authorisation") as batch:
        batch.add_column(sa.Column("original_reference", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("undone_minor", sa.BigInteger, nullable=False, server_default="0")
        )
        batch.create_check_constraint("ck_issuer_authorisation_undone", _UNDONE)


def downgrade() -> None:
    _defer_foreign_keys()
    with op.batch_alter_table("issuer_authorisation") as batch:
        batch.drop_constraint("ck_issuer_authorisation_undone", type_="check")
        batch.drop_column("undone_minor")
        batch.drop_column("original_reference")
    with op.batch_alter_table("issuer_entry") as batch:
        batch.drop_constraint("ck_issuer_entry_purpose", type_="check")
        batch.create_check_constraint("ck_issuer_entry_purpose", _PURPOSES_BEFORE)
    with op.batch_alter_table("issuer_account") as batch:
        batch.drop_constraint("ck_issuer_account_kind", type_="check")
        batch.create_check_constraint("ck_issuer_account_kind", _KINDS_BEFORE)
