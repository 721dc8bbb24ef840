"""Shared fixtures: a database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from databases import PG_SKIP_REASON, PG_URL_VARIABLE, Database, postgres_database
from pospay.storage.database import sqlite_url

# A bug that reaches `pospay`'s last-resort boundary (`pospay.cli.app.main`) prints one
# line for a user; in a test's child process it must show its traceback instead.
os.environ.setdefault("POSPAY_TRACEBACK", "1")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """One database, parametrised over the backends pospay supports."""
    if request.param == "sqlite":
        yield Database(sqlite_url(tmp_path / "pospay.db"), None, "sqlite")
    else:
        yield from postgres_database("db")


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(PG_URL_VARIABLE)
    if url:
        return f"pospay: PostgreSQL variants enabled ({PG_URL_VARIABLE}={url})"
    return f"pospay: PostgreSQL variants will be skipped ({PG_SKIP_REASON})"
