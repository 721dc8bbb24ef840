"""Moving a journal row through the transaction life cycle, inside a unit of work.

Every journal (host, terminal) changes a row's state here and only here: the current
state is read in the same transaction, `pospay.transaction.apply` decides the next
one (raising `IllegalTransition` for a pair its table lacks), and the new state is
written together with whatever the event brought (an answer, a reason).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select, update

from pospay.transaction import Event, State, apply


def transition(
    connection: Connection, table: Table, row_id: int, event: Event, now: datetime, **values: Any
) -> State:
    """Apply `event` to row `row_id` of `table` (columns ``id``, ``state``, ``updated_at``)."""
    current = State(
        connection.execute(select(table.c.state).where(table.c.id == row_id)).scalar_one()
    )
    state = apply(current, event)
    connection.execute(
        update(table)
        .where(table.c.id == row_id)
        .values(state=state.value, updated_at=now, **values)
    )
    return state
