"""Host: the last batch the host settled for each terminal (`host_terminal.settled_batch`).

Found by the chaos simulation: a terminal that never learnt of its settlement (the 0510
was lost, or it crashed) went on trading in the batch the host had closed, and the host
accepted those requests into a settled batch. With the batch recorded, the host refuses
them 77 and the terminal settles again.

Revision ID: host_0010
"""

import sqlalchemy as sa
from alembic import op

revision = "host_0010"
down_revision = "host_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("host_terminal") as batch:
        batch.add_column(sa.Column("settled_batch", sa.String(6), nullable=True))
    # Batches settled before this revision: the one each terminal settled last (by time,
    # not by number: batch numbers wrap from 999999 to 000001).
    op.execute(
        "UPDATE host_terminal SET settled_batch = ("
        " SELECT s.batch FROM host_settlement s"
        " WHERE s.terminal_id = host_terminal.terminal_id AND s.state = 'settled'"
        " ORDER BY s.settled_at DESC LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("host_terminal") as batch:
        batch.drop_column("settled_batch")
