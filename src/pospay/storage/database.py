"""Opening a database with the durability pospay promises.

SQLite: WAL journal, ``synchronous=FULL`` (a commit returns only after fsync), write
transactions begun with ``BEGIN IMMEDIATE`` so a read-then-write cannot be overtaken
by another writer, and a busy timeout so several processes can share the file.

PostgreSQL: psycopg 3; commits are durable with the server's default
``synchronous_commit=on``. An optional ``schema`` sets ``search_path``, which the
tests use to give every test an empty schema of its own.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

BUSY_TIMEOUT_MS = 30_000


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite file at `path`."""
    return f"sqlite:///{path}"


def open_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for `url` (``sqlite:///file.db`` or ``postgresql+psycopg://...``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            poolclass=NullPool if database in ("", ":memory:") else None,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if schema is not None:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True, pool_size=10)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Take transaction control away from the driver so BEGIN IMMEDIATE is ours to emit.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
