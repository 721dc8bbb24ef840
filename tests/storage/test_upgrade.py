"""Upgrading a host database from before link security ends the old sign-ins."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import func, insert, select

from databases import Database
from pospay.host.tables import host_terminal
from pospay.storage import migrate
from pospay.storage.migrate import alembic_config


def test_a_terminal_signed_in_without_keys_must_sign_in_again(database: Database) -> None:
    engine = database.engine()
    command.upgrade(alembic_config(engine), "host_0002")
    with engine.begin() as connection:
        connection.execute(
            insert(host_terminal).values(
                terminal_id="30000001",
                merchant_id="898310048160003",
                batch="000001",
                signed_in_at=datetime(2026, 11, 1, tzinfo=UTC),
                sign_ins=1,
            )
        )
    migrate(engine, "host")
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(host_terminal)).scalar_one() == 0
    engine.dispose()
