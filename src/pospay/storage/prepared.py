"""Statements built once and executed many times with parameters.

SQLAlchemy turns a statement into SQL in three steps: the Python expression is built,
its cache key is computed, and the key finds the compiled SQL. Built at each call, the
first two cost several times what SQLite takes to run the query; a statement built
once keeps its cache key (SQLAlchemy memoises it) and goes straight to the compiled
SQL. The paths every attempt takes (journals, print queue, receipt chain, issuer
ledger) therefore keep their statements here or beside their function, with
`bindparam` for what changes; in an UPDATE the parameters named like columns are the
SET clause, and the WHERE parameters are prefixed `b_` so they never collide.

>>> from pospay.terminal.tables import terminal_journal
>>> str(by_id(terminal_journal).compile()).splitlines()[-1]
'WHERE terminal_journal.id = :b_id'
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, Table, Update, bindparam, select, update


@cache
def by_id(table: Table) -> Select[Any]:
    """The row of `table` whose ``id`` is the parameter ``b_id``."""
    return select(table).where(table.c.id == bindparam("b_id"))


@cache
def state_by_id(table: Table) -> Select[Any]:
    """The ``state`` of the row whose ``id`` is ``b_id``."""
    return select(table.c.state).where(table.c.id == bindparam("b_id"))


@cache
def update_by_id(table: Table) -> Update:
    """UPDATE the row whose ``id`` is ``b_id`` (SET from the other parameters),
    RETURNING the whole row as it now is."""
    return update(table).where(table.c.id == bindparam("b_id")).returning(*table.c)
