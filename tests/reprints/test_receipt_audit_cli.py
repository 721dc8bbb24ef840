"""`pospay receipt audit` as a user runs it, on the data directory of a real terminal
session with reprints (host and terminal in-process over TCP, the CLI in a subprocess),
clean and then with the database tampered with."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Executable, select, update

from databases import Database
from nodes import RecordingPrinter, host_node, terminal_node
from pospay.audit import check_agreement
from pospay.errors import NotAuthorised, OriginalNotFound
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url
from pospay.terminal.card_read import CardRead
from pospay.terminal.operators import Credentials, Role
from pospay.terminal.tables import (
    terminal_journal,
    terminal_receipt,
    terminal_receipt_document,
)
from pospay.transaction import Method

READ = CardRead.for_test_card(TEST_CARDS[0], Method.CARD_CHIP)
ADMIN = Credentials("A1", "admin-secret-1")
SUPERVISOR = Credentials("S1", "supervisor-secret-1")


def pospay(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "pospay", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def run_terminal(data_dir: Path) -> None:
    """Three sales (12.50, 3.00, 0.99: vouchers 1 to 3), a void of the second (voucher
    4); reprints: two refused, the first sale's both copies, the last receipt's (the
    void's), and the settlement slip's."""
    host_db = Database(sqlite_url(data_dir / "host.db"), None, "sqlite")
    terminal_db = Database(sqlite_url(data_dir / "terminal.db"), None, "sqlite")
    async with (
        host_node(host_db, data_dir / "keys") as host,
        terminal_node(terminal_db, host, RecordingPrinter()) as terminal,
    ):
        assert await terminal.sign_in() == "00"
        await terminal.operators.add("A1", "Admin", Role.ADMIN, ADMIN.password)
        await terminal.operators.add(
            "S1", "Supervisor", Role.SUPERVISOR, SUPERVISOR.password, by=ADMIN
        )
        sales = [await terminal.sale(READ, Money(minor, "CNY")) for minor in (1250, 300, 99)]
        assert all(sale.approved for sale in sales)
        assert (await terminal.void(sales[1].voucher, supervisor=SUPERVISOR)).approved
        with pytest.raises(NotAuthorised):
            await terminal.reprint(sales[0].voucher)
        with pytest.raises(OriginalNotFound):
            await terminal.reprint("999999", supervisor=SUPERVISOR)
        await terminal.reprint(sales[0].voucher, supervisor=SUPERVISOR)
        await terminal.reprint_last(supervisor=SUPERVISOR)
        assert (await terminal.settle(SUPERVISOR)).settled
        await terminal.reprint_settlement(supervisor=SUPERVISOR)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("terminal")
    # In a thread of its own: asyncio.run here would replace pytest-asyncio's loop.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run_terminal(directory)).result()
    return directory


@pytest.fixture
def tampered(data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the data directory, to change."""
    return Path(shutil.copytree(data_dir, tmp_path / "tampered"))


def change(data_dir: Path, statement: Executable) -> None:
    engine = open_engine(sqlite_url(data_dir / "terminal.db"))
    with engine.begin() as connection:
        connection.execute(statement)
    engine.dispose()


def receipt_id(data_dir: Path, voucher: str, copy: str, reprint_number: int) -> int:
    r, j = terminal_receipt.c, terminal_journal.c
    engine = open_engine(sqlite_url(data_dir / "terminal.db"))
    with engine.connect() as connection:
        found = connection.execute(
            select(r.id)
            .join(terminal_journal, j.id == r.journal_id)
            .where(j.voucher == voucher, r.copy == copy, r.reprint_number == reprint_number)
        ).scalar_one()
    engine.dispose()
    return int(found)


def test_a_clean_terminal_passes_with_its_reprint_trail(data_dir: Path) -> None:
    result = pospay("receipt", "audit", "--data-dir", data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 receipts (8 originals, 4 copies) of 4 attempts" in result.stdout
    assert "reprint requests: 3 granted, 2 refused" in result.stdout
    assert "OK: every receipt against its journal entry" in result.stdout
    report = json.loads(pospay("receipt", "audit", "--data-dir", data_dir, "--json").stdout)
    assert report["ok"] is True and report["mismatches"] == []
    assert (report["originals"], report["copies"]) == (8, 4)
    assert report["reprint_requests"] == {"granted": 3, "refused": 2}
    terminal = open_engine(sqlite_url(data_dir / "terminal.db"))
    host = open_engine(sqlite_url(data_dir / "host.db"))
    try:
        agreement = check_agreement(terminal, host, host)
    finally:
        terminal.dispose()
        host.dispose()
    assert agreement.agreement, agreement.findings


def test_a_tampered_receipt_amount_is_named(tampered: Path) -> None:
    target = receipt_id(tampered, "000001", "customer", 0)
    engine = open_engine(sqlite_url(tampered / "terminal.db"))
    with engine.connect() as connection:
        text = connection.execute(
            select(terminal_receipt.c.text).where(terminal_receipt.c.id == target)
        ).scalar_one()
    engine.dispose()
    change(
        tampered,
        update(terminal_receipt)
        .where(terminal_receipt.c.id == target)
        .values(text=text.replace("¥12.50", "¥21.50")),
    )
    result = pospay("receipt", "audit", "--data-dir", tampered)
    assert result.returncode == 1
    assert (
        f"MISMATCH receipt {target} (terminal 20000001 voucher 000001 customer original): "
        "amount: expected ¥12.50, found ¥21.50"
    ) in result.stdout
    assert "FAILED: 1 mismatches" in result.stdout
    report = json.loads(pospay("receipt", "audit", "--data-dir", tampered, "--json").stdout)
    assert [(m["receipt"], m["field"]) for m in report["mismatches"]] == [(target, "amount")]


def test_an_altered_signed_document_is_named_field_by_field(tampered: Path) -> None:
    target = receipt_id(tampered, "000001", "merchant", 1)
    d = terminal_receipt_document.c
    engine = open_engine(sqlite_url(tampered / "terminal.db"))
    with engine.connect() as connection:
        document = json.loads(
            connection.execute(select(d.document).where(d.receipt_id == target)).scalar_one()
        )
    engine.dispose()
    document["amount_minor"] = 125
    change(
        tampered,
        update(terminal_receipt_document)
        .where(d.receipt_id == target)
        .values(document=json.dumps(document, ensure_ascii=False)),
    )
    result = pospay("receipt", "audit", "--data-dir", tampered, "--json")
    assert result.returncode == 1
    mismatches = json.loads(result.stdout)["mismatches"]
    assert [(m["receipt"], m["field"]) for m in mismatches] == [
        (target, "document.amount_minor"),
        (target, "document.hash"),
    ]
    assert (mismatches[0]["expected"], mismatches[0]["found"]) == ("1250", "125")


def test_a_copy_out_of_sequence_is_a_numbering_and_marking_mismatch(tampered: Path) -> None:
    target = receipt_id(tampered, "000001", "customer", 1)
    change(
        tampered,
        update(terminal_receipt).where(terminal_receipt.c.id == target).values(reprint_number=3),
    )
    result = pospay("receipt", "audit", "--data-dir", tampered)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("MISMATCH")]
    fields = sorted(line.split("): ")[1].split(":")[0] for line in lines)
    assert fields == ["document.reprint", "marking", "reprint_number"]
    assert "reprint_number: expected 1..1, found 3" in result.stdout


def test_a_receipt_for_a_declined_attempt_is_an_outcome_mismatch(tampered: Path) -> None:
    change(
        tampered,
        update(terminal_journal)
        .where(terminal_journal.c.voucher == "000004")
        .values(state="declined"),
    )
    report = json.loads(pospay("receipt", "audit", "--data-dir", tampered, "--json").stdout)
    outcome = [m for m in report["mismatches"] if m["field"] == "outcome"]
    # The void: two originals and, as the last receipt, two copies.
    assert len(outcome) == 4 and {m["voucher"] for m in outcome} == {"000004"}
    assert outcome[0]["found"] == "void declined"


def test_no_database_is_exit_2(tmp_path: Path) -> None:
    result = pospay("receipt", "audit", "--data-dir", tmp_path)
    assert result.returncode == 2 and "no terminal database" in result.stderr
