"""Test databases: SQLite files and, when configured, PostgreSQL schemas of their own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine, text

from pospay.storage import open_engine

PG_URL_VARIABLE = "POSPAY_TEST_PG_URL"
PG_SKIP_REASON = f"{PG_URL_VARIABLE} is not set: the PostgreSQL variant needs a server"


@dataclass(frozen=True)
class Database:
    """Where a test's data lives: a URL, plus a schema of its own on PostgreSQL."""

    url: str
    schema: str | None
    backend: str

    def engine(self) -> Engine:
        return open_engine(self.url, schema=self.schema)


def postgres_database(name: str) -> Iterator[Database]:
    url = os.environ.get(PG_URL_VARIABLE)
    if not url:
        pytest.skip(PG_SKIP_REASON)
    schema = f"t_{name}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Database(url, schema, "postgresql")
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
