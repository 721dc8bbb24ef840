"""Moving a journal row through the transaction life cycle, inside a unit of work.

Every journal (host, terminal) changes a row's state here and only here: the current
state is read in the same transaction, `pospay.transaction.apply` decides the next
one (raising `IllegalTransition` for a pair its table lacks), and the new state is
written together with whatever the event brought (an answer, a reason).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table

from pospay.storage.prepared import state_by_id, update_by_id
from pospay.transaction import Event, State, apply


def transition(
    connection: Connection, table: Table, row_id: int, event: Event, now: datetime, **values: Any
) -> Row[Any]:
    """Apply `event` to row `row_id` of `table` (columns ``id``, ``state``, ``updated_at``);
    the row as it now is."""
    current = State(connection.execute(state_by_id(table), {"b_id": row_id}).scalar_one())
    state = apply(current, event)
    return connection.execute(
        update_by_id(table), {"b_id": row_id, "state": state.value, "updated_at": now, **values}
    ).one()
