"""Alembic environment: runs revisions on the engine that `pospay.storage.migrate` passes in.

SQLite changes most of a table's shape only by rebuilding it (a copy under a new name,
the old one dropped). Dropping a table that other tables refer to fails while foreign
keys are enforced, so on SQLite the revisions run with enforcement off, as SQLite's own
procedure for such changes says, and each revision checks before its commit that every
reference still holds (`PRAGMA foreign_key_check`): one that breaks a reference fails
and is rolled back. Enforcement is back on for the connection afterwards.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import Connection, Engine

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)


def _references_hold(
    ctx: MigrationContext,
    step: MigrationInfo,
    heads: Collection[Any],
    run_args: Mapping[str, Any],
) -> None:
    connection = ctx.connection
    assert connection is not None
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"revision {step.up_revision_id} breaks references: {broken[:5]}")


def _enforce_references(connection: Connection, *, on: bool) -> None:
    """Set SQLite's foreign key enforcement, which it ignores inside a transaction: on
    the driver's connection, past the engine's BEGIN."""
    driver = connection.connection.driver_connection
    assert driver is not None, "an open connection has its driver's connection"
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _enforce_references(connection, on=False)
    try:
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            on_version_apply=_references_hold if sqlite else None,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if sqlite:
            connection.rollback()
            _enforce_references(connection, on=True)
