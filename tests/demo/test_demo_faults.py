"""`pospay demo --faults`, run as a user runs it: every scripted fault recovered from,
receipts delayed by the printer but none lost or printed twice, and the verdict holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from demo_runs import (
    approved_money_moving,
    assert_no_full_pan,
    files_under,
    printed_receipts,
    run_pospay,
)
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url
from pospay.terminal.tables import terminal_journal, terminal_reversal

Run = tuple[dict[str, Any], Path, Path, int]


@pytest.fixture(scope="module")
def faults_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("demo-faults")
    data, out = root / "data", root / "out"
    result = run_pospay("demo", "--faults", "--data-dir", str(data), "--out", str(out), "--json")
    assert result.stdout, result.stderr
    return json.loads(result.stdout), data, out, result.returncode


def by_fault(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["fault"]: entry for entry in summary["recovery"]["faulted_attempts"]}


def test_the_faulted_day_agrees_and_exits_zero(faults_run: Run) -> None:
    summary, _data, _out, exit_code = faults_run
    assert exit_code == 0
    assert summary["agreement"] is True
    assert summary["findings"] == [] and summary["unexpected"] == []
    assert summary["settlement"]["settled"] is True


def test_every_scripted_fault_was_injected(faults_run: Run) -> None:
    injected = faults_run[0]["recovery"]["faults_injected"]
    # The script: three sales' answers lost, one sale's request, two status queries'
    # answers, one reversal's answer, and one spell without paper.
    assert injected == {
        "0200 lose_response": 3,
        "0200 lose_request": 1,
        "0600 lose_response": 2,
        "0400 lose_response": 1,
        "printer paper_out": 1,
    }


def test_each_faulted_sale_ends_as_the_recovery_promises(faults_run: Run) -> None:
    faulted = by_fault(faults_run[0])
    assert set(faulted) == {
        "answer_lost",
        "request_lost",
        "answer_and_query_lost",
        "reversal_answer_lost",
    }
    assert all(entry["status_queries"] == 1 for entry in faulted.values())
    found = faulted["answer_lost"]
    assert (found["outcome"], found["response_code"]) == ("approved", "00")
    assert found["final_state"] in ("approved", "settled")
    lost = faulted["request_lost"]
    assert (lost["outcome"], lost["response_code"], lost["final_state"]) == (
        "declined",
        "25",
        "declined",
    )
    assert faulted["answer_and_query_lost"]["outcome"] == "reversed"
    # Its reversal's answer was lost: pending at first, flushed before the next attempt.
    assert faulted["reversal_answer_lost"]["outcome"] == "reversal_pending"
    for fault in ("answer_and_query_lost", "reversal_answer_lost"):
        assert faulted[fault]["final_state"] == "reversed"


def test_status_queries_and_reversals_are_counted_from_the_terminal(faults_run: Run) -> None:
    summary, data, _out, _ = faults_run
    recovery = summary["recovery"]
    queries = recovery["status_queries"]
    assert queries["sent"] >= 2 and queries["sent"] == sum(queries["answers"].values())
    assert queries["answers"]["done"] >= 1 and queries["answers"]["not_found"] >= 1
    assert queries["answers"]["lost"] == recovery["faults_injected"]["0600 lose_response"]
    reversals = recovery["reversals"]
    assert reversals["confirmed"] >= 1 and reversals["by_state"] == {
        "confirmed": reversals["queued"]
    }
    assert set(reversals["by_response_code"]) <= {"00", "25"}
    # The same, read independently from the terminal's database.
    engine = open_engine(sqlite_url(data / "terminal.db"))
    with engine.connect() as connection:
        rows = list(connection.execute(select(terminal_reversal)))
        journal = connection.execute(select(terminal_journal.c.id, terminal_journal.c.voucher))
        voucher_of = {row.id: row.voucher for row in journal}
    engine.dispose()
    assert len(rows) == reversals["queued"] and sum(row.tries for row in rows) == reversals["sent"]
    tries = {voucher_of[row.journal_id]: row.tries for row in rows}
    faulted = by_fault(summary)
    assert tries[faulted["answer_and_query_lost"]["voucher"]] == 1
    assert tries[faulted["reversal_answer_lost"]["voucher"]] == 2


def test_receipts_wait_for_paper_and_print_once_each(faults_run: Run) -> None:
    summary, _data, out, _ = faults_run
    receipts = summary["recovery"]["receipts"]
    assert receipts["print_tries_refused"]["paper_out"] > 0
    assert receipts["waiting_for_paper"] > 0
    assert receipts["printed_late"] == receipts["waiting_for_paper"]
    assert receipts["pending_at_end"] == 0 and summary["receipts"]["pending"] == 0
    assert receipts["printed_twice"] == []
    # What the virtual printer holds: an image and a text per job, the settlement slip
    # and two copies of each approved money-moving attempt, each exactly once.
    approved_money = approved_money_moving(summary)
    printed = summary["receipts"]["printed"]
    assert printed == 2 * approved_money
    assert summary["receipts"]["originals"] == printed  # late, but never twice
    assert (
        summary["receipts"]["reprints"]
        == summary["receipts"]["copies_after_interrupted_prints"]
        == 0
    )
    assert len(list(out.glob("*.txt"))) == len(list(out.glob("*.png"))) == printed + 1
    on_paper = printed_receipts(out)
    assert sum(on_paper.values()) == printed and set(on_paper.values()) == {1}
    vouchers = {voucher for voucher, _copy in on_paper}
    faulted = by_fault(summary)
    assert faulted["answer_lost"]["voucher"] in vouchers
    for fault in ("request_lost", "answer_and_query_lost", "reversal_answer_lost"):
        assert faulted[fault]["voucher"] not in vouchers


def test_no_full_card_number_in_anything_the_faulted_demo_wrote(faults_run: Run) -> None:
    _summary, data, out, _ = faults_run
    files = files_under(data, out)
    assert {".db", ".log", ".png", ".txt"} <= {path.suffix for path in files}
    assert_no_full_pan(files)


def test_the_human_summary_shows_the_recovery(tmp_path: Path) -> None:
    result = run_pospay(
        "demo", "--faults", "--data-dir", str(tmp_path / "d"), "--out", str(tmp_path / "o")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for words in ("Recovery", "status queries sent", "receipts printed late", "AGREE"):
        assert words in result.stdout
