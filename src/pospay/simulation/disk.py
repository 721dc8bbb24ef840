"""A node's database as the simulation sees it.

Each unit of work runs inline on the event loop in its own transaction, one at a
time, so the order of units is the order of the simulated world. Before the commit
the fault plan may kill the node (the unit is rolled back: what was not synced is
lost) or, just after it, kill the node with the unit durable and the caller never
told. The database itself survives the crash, as a disk does.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from pospay.simulation.faults import Fault, FaultPlan, Site
from pospay.simulation.nodes import Node

T = TypeVar("T")

_BEFORE = frozenset(
    {
        Fault.TERMINAL_CRASH_BEFORE_COMMIT,
        Fault.HOST_CRASH_BEFORE_COMMIT,
        Fault.ISSUER_CRASH_BEFORE_COMMIT,
        Fault.WALLET_CRASH_BEFORE_COMMIT,
    }
)


def memory_engine() -> Engine:
    """An in-memory SQLite database on one connection (the simulation is one thread).

    The driver is left in autocommit mode: `SimulatedDisk` opens each unit's
    transaction itself, so a read costs no BEGIN and no pool round trip."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    event.listen(engine, "connect", _on_connect)
    return engine


def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


class SimulatedDisk:
    """A `storage.Committer` for one node of the simulation, with crash injection."""

    def __init__(self, engine: Engine, node: Node, faults: FaultPlan, site: Site) -> None:
        self._connection = engine.connect()
        # BEGIN goes to the driver directly: through SQLAlchemy it is a statement to
        # prepare and a result to build, on each of the nine or so units of an attempt.
        # `Connection.begin` then only opens SQLAlchemy's side (the driver is in
        # autocommit mode, so it sends nothing), whose commit or rollback ends both.
        driver = self._connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        self._begin = functools.partial(driver.execute, "BEGIN")
        self._node = node
        self._faults = faults
        self._site = site

    async def run(self, work: Callable[[Connection], T]) -> T:
        await asyncio.sleep(0)  # a commit is a point where other tasks get to run
        fault = self._faults.draw(self._site)
        connection = self._connection
        self._begin()
        connection.begin()
        try:
            result = work(connection)
        except BaseException:
            connection.rollback()
            raise
        if fault in _BEFORE:
            connection.rollback()
        else:
            connection.commit()
        if fault is not None:
            raise self._node.crash(fault)
        return result

    async def read(self, work: Callable[[Connection], T]) -> T:
        await asyncio.sleep(0)
        try:
            return work(self._connection)
        finally:
            self._connection.rollback()  # ends SQLAlchemy's transaction; SQLite had none
