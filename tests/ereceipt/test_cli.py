"""`pospay receipt export` and `verify` as a user runs them, after a real terminal run:
host and terminal in-process over TCP, the terminal's data directory laid out as the
demo's (``terminal.db``, ``keys/``), the CLI in a subprocess."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from databases import Database
from nodes import RecordingPrinter, host_node, terminal_node
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.receipts.signing import public_key_hex
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url
from pospay.terminal.card_read import CardRead
from pospay.terminal.tables import terminal_receipt
from pospay.transaction import Method, State

SALES = [(Method.CARD_CHIP, 1250), (Method.CARD_MAGSTRIPE, 300), (Method.CARD_CONTACTLESS, 99)]


def pospay(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "pospay", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def run_terminal(data_dir: Path, sales: list[tuple[Method, int]]) -> list[str]:
    """One terminal session on `data_dir`; the vouchers of its approved sales."""
    host_db = Database(sqlite_url(data_dir / "host.db"), None, "sqlite")
    terminal_db = Database(sqlite_url(data_dir / "terminal.db"), None, "sqlite")
    vouchers = []
    async with (
        host_node(host_db, data_dir / "keys") as host,
        terminal_node(terminal_db, host, RecordingPrinter()) as terminal,
    ):
        assert await terminal.sign_in() == "00"
        for method, minor in sales:
            outcome = await terminal.sale(
                CardRead.for_test_card(TEST_CARDS[0], method), Money(minor, "CNY")
            )
            assert outcome.state is State.APPROVED
            vouchers.append(outcome.voucher)
    return vouchers


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A terminal that ran two sessions (a restart between): 5 sales, 10 receipts."""
    directory = tmp_path_factory.mktemp("terminal")
    # In a thread of its own: asyncio.run on this thread would replace the event loop
    # pytest-asyncio keeps for the async tests of the session.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run_terminal(directory, SALES)).result()
        thread.submit(asyncio.run, run_terminal(directory, SALES[:2])).result()
    return directory


@pytest.fixture(scope="module")
def chain_file(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "chain.json"
    result = pospay("receipt", "export", "--data-dir", data_dir, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "exported 10 receipts of terminal 20000001" in result.stdout
    return out


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_an_exported_chain_verifies_across_a_restart(chain_file: Path, data_dir: Path) -> None:
    data = load(chain_file)
    assert [r["document"]["counter"] for r in data["receipts"]] == list(range(1, 11))
    assert [r["document"]["copy"] for r in data["receipts"][:2]] == ["customer", "merchant"]
    key = pospay("receipt", "public-key", "--data-dir", data_dir)
    assert key.stdout.strip() == data["public_key"]
    result = pospay("receipt", "verify", chain_file, "--public-key", data["public_key"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: chain of terminal 20000001, 10 receipts")


def test_an_altered_amount_is_named_with_its_receipt(chain_file: Path, tmp_path: Path) -> None:
    data = load(chain_file)
    data["receipts"][4]["document"]["amount_minor"] += 1
    result = pospay("receipt", "verify", write(tmp_path / "altered.json", data))
    assert result.returncode == 1
    assert "FAULT altered: receipt 5: content does not match its recorded hash" in result.stdout


def test_a_dropped_receipt_is_a_gap(chain_file: Path, tmp_path: Path) -> None:
    data = load(chain_file)
    del data["receipts"][6]
    result = pospay("receipt", "verify", write(tmp_path / "gap.json", data))
    assert result.returncode == 1
    assert "FAULT gap: receipt 7: receipt 7 missing" in result.stdout


def test_swapped_receipts_are_a_reorder(chain_file: Path, tmp_path: Path) -> None:
    data = load(chain_file)
    receipts = data["receipts"]
    receipts[2], receipts[3] = receipts[3], receipts[2]
    result = pospay("receipt", "verify", write(tmp_path / "reorder.json", data))
    assert result.returncode == 1
    assert "FAULT reorder: receipt 3: comes after receipt 4" in result.stdout


def test_another_key_is_a_wrong_key(chain_file: Path, tmp_path: Path) -> None:
    other = public_key_hex(Ed25519PrivateKey.generate().public_key())
    key_file = tmp_path / "other.pub"
    key_file.write_text(other + "\n")
    result = pospay("receipt", "verify", chain_file, "--public-key", key_file)
    assert result.returncode == 1
    assert "FAULT wrong_key: receipt 1: signed with key" in result.stdout


def test_one_receipt_exported_on_its_own_verifies(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "receipt-3.json"
    assert (
        pospay(
            "receipt", "export", "--data-dir", data_dir, "--counter", "3", "--out", out
        ).returncode
        == 0
    )
    result = pospay("receipt", "verify", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: receipt 3 of terminal 20000001" in result.stdout
    data = load(out)
    data["signature"] = "00" * 64
    result = pospay("receipt", "verify", write(tmp_path / "bad.json", data))
    assert result.returncode == 1
    assert "FAULT bad_signature: receipt 3" in result.stdout


def test_unreadable_input_is_refused_with_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    result = pospay("receipt", "verify", junk)
    assert result.returncode == 2 and "cannot read" in result.stderr
    missing = pospay("receipt", "export", "--data-dir", tmp_path / "none", "--out", tmp_path / "x")
    assert missing.returncode == 2 and "no terminal database" in missing.stderr


def test_no_card_number_in_the_data_dir_or_the_export(chain_file: Path, data_dir: Path) -> None:
    pans = [card.pan for card in TEST_CARDS]
    for path in [chain_file, *data_dir.rglob("*")]:
        if path.is_file():
            content = path.read_bytes()
            leaked = [pan for pan in pans if pan.encode() in content]
            assert leaked == [], f"{path} holds {leaked}"


def printed_code(data_dir: Path, receipt_number: int) -> str:
    """The QR payload on the paper of the terminal's n-th stored receipt."""
    engine = open_engine(sqlite_url(data_dir / "terminal.db"))
    with engine.connect() as connection:
        texts = list(
            connection.execute(select(terminal_receipt.c.text).order_by(terminal_receipt.c.id))
        )
    engine.dispose()
    return "".join(texts[receipt_number - 1].text.split("[QR]\n", 1)[1].split())


def test_the_code_on_the_paper_names_its_document_in_the_chain(
    chain_file: Path, data_dir: Path
) -> None:
    code = printed_code(data_dir, 4)
    assert code.startswith("PPR1:20000001:4:")
    result = pospay("receipt", "verify", chain_file, "--qr", code)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the printed code of receipt 4" in result.stdout
    forged = code.replace(":4:", ":5:", 1)  # receipt 4's code passed off as receipt 5
    result = pospay("receipt", "verify", chain_file, "--qr", forged)
    assert result.returncode == 1
    assert "FAULT altered: receipt 5: the printed code's hash is not that of the document" in (
        result.stdout
    )
