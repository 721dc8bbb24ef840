"""Opening a database with the durability pospay promises.

SQLite: WAL journal, ``synchronous=FULL`` (a commit returns only after fsync), write
transactions begun with ``BEGIN IMMEDIATE`` so a read-then-write cannot be overtaken
by another writer, and a busy timeout so several processes can share the file.

PostgreSQL: psycopg 3; commits are durable with the server's default
``synchronous_commit=on``. An optional ``schema`` sets ``search_path``, which the
tests use to give every test an empty schema of its own.

`open_engine` connects once before it returns, so a URL that cannot be used (no driver
for its scheme, nothing answering, a file that is not a sound SQLite database) is
refused there, as `DatabaseUnusable` naming the fault, and never meets the caller
later as a driver's exception. `unusable_database` tells the same faults apart when
they surface in a later statement (a file damaged past its first page).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import NullPool

from pospay.errors import DatabaseUnusable

BUSY_TIMEOUT_MS = 30_000
# SQLite's own words for a file that is not, or no longer, a database.
_DAMAGED_SQLITE = ("file is not a database", "database disk image is malformed")


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite file at `path`."""
    return f"sqlite:///{path}"


def open_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for `url` (``sqlite:///file.db`` or ``postgresql+psycopg://...``),
    connected once; `DatabaseUnusable` if it cannot be."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnusable(
            repr(url), "not a database URL (e.g. sqlite:///host.db, postgresql+psycopg://...)"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        engine = _create(url, parsed.get_backend_name(), parsed.database or "", schema)
    except NoSuchModuleError:
        raise DatabaseUnusable(
            shown, "no such kind of database: use sqlite:/// or postgresql+psycopg://"
        ) from None
    except ImportError as error:
        raise DatabaseUnusable(
            shown, f"its driver is not installed ({error}): use sqlite:/// or postgresql+psycopg://"
        ) from None
    except OSError as error:
        raise DatabaseUnusable(shown, f"cannot make its folder: {error}") from None
    try:
        _probe(engine)
    except engine.dialect.loaded_dbapi.Error as error:
        raise DatabaseUnusable(shown, _reason(str(error))) from None
    finally:
        # No connection is left in the pool: the engine connects again when first used,
        # and one its caller never uses holds nothing open.
        engine.dispose()
    return engine


def unusable_database(error: BaseException) -> str | None:
    """Why `error` says its database cannot be used at all (damaged file, no server),
    or None for any other fault (which is then a bug or a passing failure)."""
    if not isinstance(error, DBAPIError):
        return None
    text = str(error.orig)
    if any(words in text for words in _DAMAGED_SQLITE):
        return _reason(text)
    if isinstance(error, OperationalError) and error.statement is None:
        return _reason(text)  # no statement: it was connecting
    return None


def _create(url: str, backend: str, database: str, schema: str | None) -> Engine:
    if backend == "sqlite":
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


def _probe(engine: Engine) -> None:
    """Connect once and read the catalogue, outside any transaction (no write lock is
    taken): a server that does not answer, or a file SQLite cannot read, fails here."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("SELECT count(*) FROM sqlite_master")
        else:
            cursor.execute("SELECT 1")
        cursor.fetchall()
        cursor.close()
    finally:
        if engine.dialect.name != "sqlite":
            connection.rollback()
        connection.close()


def _reason(driver_message: str) -> str:
    """The driver's own first line, which names the fault, and what to do about it."""
    first = (driver_message.strip().splitlines() or ["unknown error"])[0]
    if any(words in first for words in _DAMAGED_SQLITE):
        return f"{first}: the file is damaged or not a pospay database; restore it from a backup"
    return f"cannot connect ({first}): check the URL and that the server is running"


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
