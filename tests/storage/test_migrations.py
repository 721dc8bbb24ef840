"""Each component's Alembic branch creates exactly the tables its code declares."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from databases import Database
from pospay.host.tables import metadata as host_metadata
from pospay.prepaid import metadata as prepaid_metadata
from pospay.storage import migrate
from pospay.storage.migrate import Component
from pospay.terminal.tables import metadata as terminal_metadata

CASES: list[tuple[Component, MetaData]] = [
    ("host", host_metadata),
    ("terminal", terminal_metadata),
    ("prepaid", prepaid_metadata),
]


@pytest.mark.parametrize(("component", "metadata"), CASES, ids=[name for name, _ in CASES])
def test_migration_matches_declared_tables(
    database: Database, component: Component, metadata: MetaData
) -> None:
    engine = database.engine()
    migrate(engine, component)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_components_share_a_database_without_touching_each_other(database: Database) -> None:
    engine = database.engine()
    migrate(engine, "terminal")
    tables = set(inspect(engine).get_table_names())
    assert {"terminal_journal", "terminal_state", "terminal_receipt"} <= tables
    assert "host_journal" not in tables
    migrate(engine, "host")
    migrate(engine, "terminal")  # idempotent
    assert "host_journal" in set(inspect(engine).get_table_names())
    engine.dispose()
