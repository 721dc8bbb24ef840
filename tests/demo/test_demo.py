"""The demo, run as a user runs it: the verdict, the counts, and no card number anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from demo_runs import (
    PREPAID_PANS,
    approved_money_moving,
    assert_no_full_pan,
    files_under,
    printed_receipts,
    run_pospay,
)
from pospay.demo.run import DEMO_TERMINAL
from pospay.host.tables import host_journal
from pospay.issuer.test_cards import TEST_CARDS
from pospay.security import encrypt_pin_block
from pospay.security._psec import pin_block_iso_0
from pospay.security.test_keys import TEST_TMK
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url
from pospay.terminal.keys import working_keys

Run = tuple[dict[str, Any], Path, Path, int]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("demo")
    data, out = root / "data", root / "out"
    result = run_pospay("demo", "--data-dir", str(data), "--out", str(out), "--json")
    return json.loads(result.stdout), data, out, result.returncode


def test_demo_agrees_and_exits_zero(demo_run: Run) -> None:
    summary, _data, _out, exit_code = demo_run
    assert exit_code == 0
    assert summary["agreement"] is True
    assert summary["findings"] == [] and summary["unexpected"] == []


def test_demo_counts_cover_every_type_and_entry_mode(demo_run: Run) -> None:
    summary, _data, out, _ = demo_run
    attempts = summary["attempts"]
    assert isinstance(attempts, int) and 55 <= attempts <= 100
    for key in ("by_type", "by_method", "by_outcome"):
        counts = summary[key]
        assert isinstance(counts, dict) and sum(counts.values()) == attempts
    assert set(summary["by_type"]) == {
        "sale",
        "balance_inquiry",
        "void",
        "refund",
        "preauth",
        "preauth_completion",
        "preauth_cancel",
        "transfer",
        "prepaid_issue",
        "prepaid_activate",
        "prepaid_top_up",
        "prepaid_card_top_up",
        "prepaid_freeze",
        "prepaid_unfreeze",
    }
    assert set(summary["by_method"]) == {
        "card_chip",
        "card_contactless",
        "card_magstripe",
        "qr_customer",
        "qr_merchant",
        "by_reference",
        "prepaid",
    }
    # Both QR flows: three customers' codes, two of the terminal's own QR codes.
    assert summary["by_method"]["qr_customer"] == 3
    assert summary["by_method"]["qr_merchant"] == 2
    assert sorted(summary["bills"]) == ["alipay", "wechat"]
    assert set(summary["by_outcome"]) == {"approved", "declined"}
    codes = summary["by_response_code"]
    assert {"00", "05", "13", "14", "51", "54", "55", "61", "62"} <= set(codes)
    # Two copies of a receipt for every approved attempt that moves money, plus the
    # settlement slip; each job rendered by the virtual printer as text and as an image.
    printed = summary["receipts"]["printed"]
    approved_money = approved_money_moving(summary)
    assert printed == 2 * approved_money
    # One original of each copy per approved money-moving attempt; no copies at all.
    assert summary["receipts"]["originals"] == printed
    assert summary["receipts"]["reprints"] == 0
    assert summary["receipts"]["copies_after_interrupted_prints"] == 0
    assert summary["printer"].startswith("virtual printer")
    assert len(list(out.glob("*.txt"))) == len(list(out.glob("*.png"))) == printed + 1
    receipts = printed_receipts(out)
    assert sum(receipts.values()) == printed and set(receipts.values()) == {1}
    assert summary["recovery"] is None


def test_the_prepaid_ledger_sums_to_zero_in_the_verdict(demo_run: Run) -> None:
    summary, data, _out, _ = demo_run
    assert summary["ledger_balanced"] is True
    prepaid = summary["prepaid"]
    # Two top-ups, two payments and a refund stand; a reversal would have left fewer.
    assert prepaid["movements"] == 5
    assert prepaid["debits_minor"] == prepaid["credits_minor"] > 0
    assert prepaid["negative_balances"] == 0
    report = run_pospay("prepaid", "report", "--data-dir", str(data), "--json")
    assert report.returncode == 0, report.stderr
    books = json.loads(report.stdout)
    assert books["balanced"] is True
    assert books["debits_minor"] == prepaid["debits_minor"]
    kinds = {row["kind"]: row for row in books["by_account_kind"]}
    assert set(kinds) == {"card", "cash", "card_sales", "merchant"}
    # 500.00 cash and 200.00 by card loaded; 128.80 and 66.60 paid, 28.80 refunded.
    assert kinds["card"]["balance_minor"] == 500_00 + 200_00 - 128_80 - 66_60 + 28_80
    assert kinds["merchant"]["balance_minor"] == 128_80 + 66_60 - 28_80
    for pan, balance in zip(PREPAID_PANS, (400_00, 133_40), strict=True):
        statement = run_pospay(
            "prepaid", "statement", "--data-dir", str(data), "--card", pan, "--json"
        )
        assert statement.returncode == 0, statement.stderr
        lines = json.loads(statement.stdout)
        assert lines["proven"] is True and lines["balance_minor"] == balance
        assert pan not in statement.stdout and lines["card"].endswith(pan[-4:])


def test_the_day_settles_balanced_and_the_batch_advances(demo_run: Run) -> None:
    settlement = demo_run[0]["settlement"]
    assert settlement["settled"] is True and settlement["response_code"] == "00"
    assert settlement["balanced_first_time"] is True
    assert settlement["slip_printed"] is True
    assert int(settlement["next_batch"]) == int(settlement["batch"]) + 1


def test_the_sale_whose_issuer_answer_was_lost_is_reversed_before_settlement(
    demo_run: Run,
) -> None:
    """666.91 (docs/test-cards.md): declined 91 on the terminal, held unknown by the host
    until its recovery job (run before the day settles, if its periodic run has not come
    first) gave the money back."""
    summary, data, _out, _ = demo_run
    assert summary["by_response_code"]["91"] == 1
    engine = open_engine(sqlite_url(data / "host.db"))
    with engine.connect() as connection:
        lost = connection.execute(
            select(host_journal.c.state, host_journal.c.response_code).where(
                host_journal.c.amount_minor == 66691
            )
        ).all()
    engine.dispose()
    assert [tuple(row) for row in lost] == [("reversed", "91")]


def test_no_key_or_pin_block_in_clear_in_anything_the_demo_wrote(demo_run: Run) -> None:
    _summary, data, out, _ = demo_run
    engine = open_engine(sqlite_url(data / "terminal.db"))
    with engine.connect() as connection:
        keys = working_keys(connection, DEMO_TERMINAL.terminal_id, TEST_TMK)
    engine.dispose()
    assert keys is not None
    secrets = [TEST_TMK, keys.pin_key, keys.mac_key]
    for card in TEST_CARDS:
        clear_block = pin_block_iso_0(card.pin, card.pan)
        secrets += [clear_block, bytes.fromhex(encrypt_pin_block(card.pin, card.pan, keys.pin_key))]
    forms = [
        form
        for secret in secrets
        for form in (secret, secret.hex().encode(), secret.hex().upper().encode())
    ]
    for path in [p for p in [*data.rglob("*"), *out.rglob("*")] if p.is_file()]:
        content = path.read_bytes()
        assert not any(form in content for form in forms), (
            f"a key or PIN block in clear in {path.name}"
        )


def test_no_full_card_number_in_anything_the_demo_wrote(demo_run: Run) -> None:
    _summary, data, out, _ = demo_run
    files = files_under(data, out)
    assert {".db", ".log", ".png", ".txt"} <= {path.suffix for path in files}
    assert_no_full_pan(files)


def test_the_demo_terminal_chain_exports_and_verifies(demo_run: Run, tmp_path: Path) -> None:
    _summary, data, _out, _ = demo_run
    chain = tmp_path / "chain.json"
    exported = run_pospay("receipt", "export", "--data-dir", str(data), "--out", str(chain))
    assert exported.returncode == 0, exported.stderr
    assert f"of terminal {DEMO_TERMINAL.terminal_id}" in exported.stdout
    key = run_pospay("receipt", "public-key", "--data-dir", str(data)).stdout.strip()
    verified = run_pospay("receipt", "verify", str(chain), "--public-key", key)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    receipts = json.loads(chain.read_text(encoding="utf-8"))["receipts"]
    assert len(receipts) > 0 and f"{len(receipts)} receipts" in verified.stdout


def test_human_summary_names_the_verdict_printing_to_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = run_pospay(
        "demo", "--data-dir", str(tmp_path / "d"), "--out", str(out), "--printer", "directory"
    )
    assert result.returncode == 0, result.stderr
    assert "AGREE" in result.stdout and "一致" in result.stdout
    # The folder printer: each job as the ESC/POS bytes and the text, no image.
    escpos = {path.stem for path in out.glob("*.escpos")}
    assert escpos and escpos == {path.stem for path in out.glob("*.txt")}
    assert not list(out.glob("*.png"))


def test_an_unknown_printer_kind_is_refused(tmp_path: Path) -> None:
    result = run_pospay("demo", "--out", str(tmp_path / "o"), "--printer", "usb")
    assert result.returncode == 2
    assert "usb" in result.stderr and not (tmp_path / "o").exists()
