"""Host: tombstones, journal rows for request keys the host refuses in advance.

A reversal answered 25 (original never seen) before this revision left no journal row,
so its original, arriving late, could still be authorised. The upgrade records the
tombstone each such reversal records from now on (see `pospay.host.tombstones`): a
REVERSED row without a card under the original's key. A key the journal already holds
(the original did arrive after its reversal) is left as it is, for reconciliation.

Revision ID: host_0008
"""

import sqlalchemy as sa
from alembic import op

from pospay.storage.types import UtcDateTime

revision = "host_0008"
down_revision = "host_0007"
branch_labels = None
depends_on = None

# The card requests of the link at this revision: (MTI, processing code) -> kind.
_KINDS = {
    ("0200", "000000"): "sale",
    ("0200", "310000"): "balance_inquiry",
    ("0200", "200000"): "void",
    ("0220", "200000"): "refund",
    ("0100", "030000"): "preauth",
    ("0220", "000000"): "preauth_completion",
    ("0100", "200000"): "preauth_cancel",
    ("0200", "400000"): "transfer",
}

_reversal = sa.table(
    "host_reversal",
    *(
        sa.column(name)
        for name in (
            "terminal_id",
            "merchant_id",
            "processing_code",
            "amount_minor",
            "currency",
            "batch",
            "original_mti",
            "original_stan",
            "original_transmission_at",
            "original_id",
            "response_code",
        )
    ),
    sa.column("created_at", UtcDateTime()),
)

_journal = sa.table(
    "host_journal",
    *(
        sa.column(name)
        for name in (
            "id",
            "terminal_id",
            "stan",
            "transmission_at",
            "merchant_id",
            "mti",
            "processing_code",
            "kind",
            "method",
            "amount_minor",
            "currency",
            "pan_masked",
            "pan_ref",
            "batch",
            "rrn",
            "state",
            "reason",
            "tombstone",
        )
    ),
    sa.column("created_at", UtcDateTime()),
    sa.column("updated_at", UtcDateTime()),
)


def upgrade() -> None:
    op.add_column("host_journal", sa.Column("tombstone", sa.String(12), nullable=True))
    bind = op.get_bind()
    unseen = bind.execute(
        sa.select(_reversal)
        .where(_reversal.c.original_id.is_(None), _reversal.c.response_code == "25")
        .order_by(_reversal.c.created_at)
    ).all()
    for row in unseen:
        kind = _KINDS.get((row.original_mti, row.processing_code))
        key = (row.terminal_id, row.original_stan, row.original_transmission_at)
        if kind is None or _journaled(bind, *key):
            continue
        row_id = bind.execute(
            sa.insert(_journal)
            .values(
                terminal_id=row.terminal_id,
                stan=row.original_stan,
                transmission_at=row.original_transmission_at,
                merchant_id=row.merchant_id,
                mti=row.original_mti,
                processing_code=row.processing_code,
                kind=kind,
                method="card_manual",
                amount_minor=row.amount_minor,
                currency=row.currency,
                pan_masked="",
                pan_ref="",
                batch=row.batch,
                state="reversed",
                reason="never received: reversed before it arrived; refused if it does",
                tombstone="reversal",
                created_at=row.created_at,
                updated_at=row.created_at,
            )
            .returning(_journal.c.id)
        ).scalar_one()
        bind.execute(
            sa.update(_journal).where(_journal.c.id == row_id).values(rrn=f"{row_id:012d}")
        )


def _journaled(bind: sa.Connection, terminal_id: str, stan: str, transmission_at: str) -> bool:
    found = bind.execute(
        sa.select(_journal.c.id).where(
            _journal.c.terminal_id == terminal_id,
            _journal.c.stan == stan,
            _journal.c.transmission_at == transmission_at,
        )
    ).first()
    return found is not None


def downgrade() -> None:
    # The tombstone rows stay: under the duplicate key they still refuse a late request.
    with op.batch_alter_table("host_journal") as batch:
        batch.drop_column("tombstone")
