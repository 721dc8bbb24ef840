"""A journal row moves through the life cycle in one statement: a legal event writes the
new state and the answer, an illegal one changes nothing, and of two writers racing to
move the same row out of one state only the first does (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import NoResultFound

from databases import Database
from journal_rows import answer, chip_sale
from pospay.errors import IllegalTransition
from pospay.storage import migrate
from pospay.storage.transitions import transition
from pospay.terminal import journal
from pospay.terminal.tables import terminal_journal
from pospay.transaction import Event, State

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TERMINAL = "30000001"


def approved_attempt(engine: Engine) -> int:
    """A sale recorded and approved on TERMINAL: its journal id."""
    with engine.begin() as connection:
        journal.ensure_terminal(connection, TERMINAL, "898310048160009")
        record = chip_sale(TERMINAL, 1250, "622202******0001", "0301080000")
        row = journal.record_attempt(connection, record, NOW)
        assert row.state == State.SENT
        approved = answer(connection, row.id, Event.APPROVE, NOW, rrn="000000000001")
    assert approved.state == State.APPROVED
    assert (approved.response_code, approved.auth_code) == ("00", "123456")
    attempt_id: int = approved.id
    return attempt_id


def state_of(connection: Connection, attempt_id: int) -> tuple[str, datetime]:
    row = connection.execute(
        select(terminal_journal.c.state, terminal_journal.c.updated_at).where(
            terminal_journal.c.id == attempt_id
        )
    ).one()
    return row.state, row.updated_at


def test_a_legal_event_writes_the_state_the_table_gives_and_what_it_brought(
    database: Database,
) -> None:
    engine = database.engine()
    migrate(engine, "terminal")
    attempt_id = approved_attempt(engine)
    later = NOW + timedelta(minutes=5)
    with engine.begin() as connection:
        moved = transition(
            connection, terminal_journal, attempt_id, Event.REVERSE, later, reason="bad MAC"
        )
        assert (moved.state, moved.reason) == ("reversal_pending", "bad MAC")
        assert moved.updated_at == later
        # A retry of the same reversal is a pair of the table that leads back to itself.
        again = transition(connection, terminal_journal, attempt_id, Event.REVERSE, later)
        assert (again.state, again.reason) == ("reversal_pending", "bad MAC")
    with engine.connect() as connection:
        assert state_of(connection, attempt_id) == ("reversal_pending", later)
    engine.dispose()


def test_an_illegal_event_raises_and_changes_nothing(database: Database) -> None:
    engine = database.engine()
    migrate(engine, "terminal")
    attempt_id = approved_attempt(engine)
    with engine.begin() as connection:
        with pytest.raises(IllegalTransition) as refused:
            transition(
                connection,
                terminal_journal,
                attempt_id,
                Event.TIME_OUT,
                NOW + timedelta(minutes=1),
                reason="should not be written",
            )
        assert "approved" in str(refused.value) and "time_out" in str(refused.value)
        row = connection.execute(
            select(terminal_journal).where(terminal_journal.c.id == attempt_id)
        ).one()
        assert (row.state, row.reason, row.updated_at) == ("approved", "", NOW)
        with pytest.raises(NoResultFound):
            transition(connection, terminal_journal, attempt_id + 1000, Event.VOID, NOW)
    engine.dispose()


def test_of_two_writers_voiding_one_approval_only_the_first_moves_it(
    database: Database,
) -> None:
    """The second writer starts while the first holds its uncommitted void. A read of the
    state followed by a write would let it read "approved" and void the row a second
    time on PostgreSQL at READ COMMITTED; one conditional UPDATE re-checks the state the
    first writer committed and refuses."""
    engine = database.engine()
    migrate(engine, "terminal")
    attempt_id = approved_attempt(engine)
    outcome: list[BaseException | str] = []

    def second_writer() -> None:
        try:
            with engine.begin() as connection:
                row = transition(connection, terminal_journal, attempt_id, Event.VOID, NOW)
                outcome.append(str(row.state))
        except BaseException as error:  # handed to the test thread, which asserts on it
            outcome.append(error)

    first = engine.connect()
    first.begin()
    voided = transition(first, terminal_journal, attempt_id, Event.VOID, NOW)
    assert voided.state == State.VOIDED
    writer = threading.Thread(target=second_writer)
    writer.start()
    wait_until_blocked(engine, database, writer)
    first.commit()
    first.close()
    writer.join(timeout=30)
    assert not writer.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], IllegalTransition), outcome
    with engine.connect() as connection:
        assert state_of(connection, attempt_id)[0] == "voided"
    engine.dispose()


def wait_until_blocked(engine: Engine, database: Database, writer: threading.Thread) -> None:
    """Until the second writer waits for the first one's lock. PostgreSQL shows it as a
    backend waiting on a lock; SQLite's BEGIN IMMEDIATE waits inside the driver, unseen,
    so the writer gets a moment to get there (if it is late, it only sees the commit)."""
    if database.backend != "postgresql":
        time.sleep(0.3)
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    deadline = time.monotonic() + 20
    with engine.connect() as connection:
        while connection.execute(waiting).scalar_one() == 0:
            assert writer.is_alive() and time.monotonic() < deadline, "no writer ever waited"
            time.sleep(0.02)
