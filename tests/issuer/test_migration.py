"""The issuer's Alembic branch creates exactly the tables `pospay.issuer.tables` declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from pospay.issuer import metadata
from pospay.storage import migrate


def test_migrated_schema_equals_declared_tables(engine: Engine) -> None:
    migrate(engine, "issuer")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": True},
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_migration_creates_only_issuer_tables_and_runs_twice(engine: Engine) -> None:
    migrate(engine, "issuer")
    migrate(engine, "issuer")
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(metadata.tables)
    assert all(name.startswith("issuer_") for name in tables)
