"""Moving a journal row through the transaction life cycle, inside a unit of work.

Every journal (host, terminal) changes a row's state here and only here, in one
statement: an UPDATE that matches the row only in a state the event may arrive in and
sets the state `pospay.transaction` leads to from there (a CASE over `moves`), together
with whatever the event brought (an answer, a reason). The check and the write are one
step, so no other writer can change the state between them on PostgreSQL at READ
COMMITTED either, and an event costs one statement, not a read and a write. When no row
matches, the state is read to say why: `IllegalTransition` for a pair the table lacks.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, Table, Update, bindparam, case, update

from pospay.storage.prepared import state_by_id
from pospay.transaction import Event, State, apply, moves


def transition(
    connection: Connection, table: Table, row_id: int, event: Event, now: datetime, **values: Any
) -> Row[Any]:
    """Apply `event` to row `row_id` of `table` (columns ``id``, ``state``, ``updated_at``);
    the row as it now is."""
    parameters = {"b_id": row_id, "updated_at": now, **values}
    for _ in range(_TRIES):
        row = connection.execute(_move(table, event), parameters).first()
        if row is not None:
            return row
        # No row matched: either there is none (NoResultFound) or its state does not take
        # `event` (IllegalTransition). A state that does take it was written between the
        # two statements by another transaction: the UPDATE is tried again.
        current = State(connection.execute(state_by_id(table), {"b_id": row_id}).scalar_one())
        apply(current, event)
    raise RuntimeError(f"{table.name} row {row_id} kept changing state under {event.value}")


# How often a transition races another writer before it gives up (in SQLite, never once).
_TRIES = 3


@cache
def _move(table: Table, event: Event) -> Update:
    """UPDATE row ``b_id`` of `table` by `event` where its state takes the event,
    RETURNING the row as it now is; the other columns are set from the parameters."""
    leads_to = moves(event)
    state = table.c.state
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"), state.in_([s.value for s in leads_to]))
        .values(state=case({s.value: t.value for s, t in leads_to.items()}, value=state))
        .returning(*table.c)
    )
