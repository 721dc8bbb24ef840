"""Databases for the issuer's tests: a SQLite file, and PostgreSQL when a server is configured.

Every test gets an empty database of its own: a fresh file in `tmp_path`, or a fresh
schema ``t_<uuid hex>`` on the server named by ``POSPAY_TEST_PG_URL``, dropped after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from pospay.storage import migrate, open_engine

from .support import EngineFactory

PG_URL_VARIABLE = "POSPAY_TEST_PG_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineFactory]:
    """Opens engines on one empty database (as separate processes would), over both backends."""
    if request.param == "sqlite":
        yield from _opened(lambda: open_engine(f"sqlite:///{tmp_path / 'issuer.db'}"))
    else:
        yield from _postgresql()


@pytest.fixture
def engine(engines: EngineFactory) -> Engine:
    """An empty database, parametrised over SQLite and PostgreSQL."""
    return engines()


@pytest.fixture
def issuer_engine(engine: Engine) -> Engine:
    """`engine` with the issuer's tables, created by its Alembic branch."""
    migrate(engine, "issuer")
    return engine


def _opened(open_one: EngineFactory) -> Iterator[EngineFactory]:
    opened: list[Engine] = []

    def factory() -> Engine:
        opened.append(open_one())
        return opened[-1]

    try:
        yield factory
    finally:
        for engine in opened:
            engine.dispose()


def _postgresql() -> Iterator[EngineFactory]:
    url = os.environ.get(PG_URL_VARIABLE)
    if not url:
        pytest.skip(f"{PG_URL_VARIABLE} is not set: PostgreSQL tests need a server")
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield from _opened(lambda: open_engine(url, schema=schema))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
