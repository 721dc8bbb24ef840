"""Upgrading a database keeps what it holds meaningful: a host from before link security
ends the old sign-ins, a reversal of an unseen original gets its tombstone, and a
terminal's stored receipts take their attempt's terminal and stay queued for print."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import func, insert, select

from databases import Database
from journal_rows import answer, chip_sale
from pospay.host.tables import host_journal, host_reversal, host_terminal
from pospay.storage import migrate
from pospay.storage.migrate import alembic_config
from pospay.terminal import journal
from pospay.terminal.printing import pending_jobs
from pospay.terminal.tables import terminal_receipt, terminal_receipt_document
from pospay.transaction import Event


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


def test_stored_receipts_take_their_attempts_terminal_and_stay_in_the_print_queue(
    database: Database,
) -> None:
    engine = database.engine()
    command.upgrade(alembic_config(engine), "terminal_0012")
    at = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    with engine.begin() as connection:
        journal.ensure_terminal(connection, "30000001", "898310048160003")
        record = chip_sale("30000001", 1250, "622202******0001", "1101093000")
        attempt = journal.record_attempt(connection, record, at)
        answer(connection, attempt.id, Event.APPROVE, at, rrn="000000000001")
        # Two copies stored before the receipt named its terminal; the customer's printed.
        receipt_ids = [
            connection.execute(
                insert(terminal_receipt)
                .values(
                    journal_id=attempt.id,
                    copy=copy,
                    reprint_number=0,
                    text=f"{copy} copy",
                    escpos=b"\x1b@",
                    created_at=at,
                    printed_at=printed_at,
                )
                .returning(terminal_receipt.c.id)
            ).scalar_one()
            for copy, printed_at in (("customer", at), ("merchant", None))
        ]
        connection.execute(
            insert(terminal_receipt_document),
            [
                {
                    "receipt_id": receipt_id,
                    "terminal_id": "30000001",
                    "counter": counter,
                    "previous_hash": "0" * 64,
                    "hash": f"{counter}" * 64,
                    "document": "{}",
                    "signature": bytes(64),
                    "created_at": at,
                }
                for counter, receipt_id in enumerate(receipt_ids, start=1)
            ],
        )
    migrate(engine, "terminal")
    with engine.connect() as connection:
        rows = connection.execute(
            select(terminal_receipt.c.id, terminal_receipt.c.terminal_id).order_by(
                terminal_receipt.c.id
            )
        ).all()
        assert rows == [(receipt_ids[0], "30000001"), (receipt_ids[1], "30000001")]
        documents = connection.execute(
            select(func.count()).select_from(terminal_receipt_document)
        ).scalar_one()
        assert documents == 2  # the table was rebuilt under its documents, none lost
        [pending] = pending_jobs(connection, "30000001")
        assert (pending.row_id, pending.copy) == (receipt_ids[1], "merchant")
        assert pending_jobs(connection, "30000002") == []
    engine.dispose()
