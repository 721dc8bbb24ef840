"""Upgrading a host database from before link security ends the old sign-ins."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import func, insert, select

from databases import Database
from pospay.host.tables import host_journal, host_reversal, host_terminal
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


def test_a_reversal_of_an_unseen_original_gets_its_tombstone_on_upgrade(
    database: Database,
) -> None:
    engine = database.engine()
    command.upgrade(alembic_config(engine), "host_0007")
    at = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    reversal = {
        "terminal_id": "30000001",
        "merchant_id": "898310048160003",
        "processing_code": "000000",
        "amount_minor": 1250,
        "currency": "CNY",
        "batch": "000001",
        "original_mti": "0200",
        "reason_code": "98",
        "response_code": "25",
        "created_at": at,
        "updated_at": at,
    }
    with engine.begin() as connection:
        connection.execute(
            insert(host_reversal),
            [
                # Never seen before its reversal (twice: the second finds the first's row).
                reversal
                | {"stan": "000002", "original_stan": "000001"}
                | {"transmission_at": "1101093100", "original_transmission_at": "1101093000"},
                reversal
                | {"stan": "000003", "original_stan": "000001"}
                | {"transmission_at": "1101093200", "original_transmission_at": "1101093000"},
                # A 0400 of a processing code no card request of that MTI carries.
                reversal
                | {"stan": "000005", "original_stan": "000004", "processing_code": "920000"}
                | {"transmission_at": "1101093300", "original_transmission_at": "1101093010"},
            ],
        )
    migrate(engine, "host")
    with engine.connect() as connection:
        [tombstone] = connection.execute(select(host_journal)).all()
    engine.dispose()
    assert (tombstone.terminal_id, tombstone.stan, tombstone.transmission_at) == (
        "30000001",
        "000001",
        "1101093000",
    )
    assert (tombstone.state, tombstone.tombstone, tombstone.kind, tombstone.amount_minor) == (
        "reversed",
        "reversal",
        "sale",
        1250,
    )
    assert tombstone.rrn == f"{tombstone.id:012d}" and tombstone.response_code is None
