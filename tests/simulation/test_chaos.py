"""`pospay chaos` end to end: the production code under faults, audited, replayable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pospay.simulation import ChaosConfig, run_chaos

pytestmark = pytest.mark.slow


def _chaos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "pospay", "chaos", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_calm_world_agrees_and_injects_nothing() -> None:
    report = run_chaos(ChaosConfig(seed=11, transactions=120, fault_rate=0.0, terminals=4))
    data = report.as_json()
    assert report.ok, data["violations"]
    assert data["faults_total"] == 0
    assert data["attempts"] >= 120  # every step is an attempt (sign-ins are not)
    assert data["recovery"]["batches_settled"] == 4
    assert data["receipts"]["stored"] == data["receipts"]["originals"] > 0


def test_under_heavy_faults_every_invariant_holds() -> None:
    report = run_chaos(ChaosConfig(seed=2, transactions=600, fault_rate=1.0, terminals=8))
    data = report.as_json()
    assert data["violations"] == []
    assert data["errors"] == []
    assert set(data["invariants"]) == {
        "final",
        "outcome",
        "once",
        "receipt",
        "settlement",
        "ledger",
        "paper",
    }
    injected = {name for name, count in data["faults"].items() if count}
    assert len(injected) >= 15, data["faults"]  # most kinds strike in a run this short
    assert data["outcomes"].get("reversed", 0) > 0  # recovery really ran
    assert data["recovery"]["status_queries"] > 0
    assert data["receipts"]["printed_after_the_printer_was_fixed"] > 0


def test_the_same_seed_gives_the_same_report_byte_for_byte() -> None:
    args = ("--seed", "5", "--transactions", "150", "--fault-rate", "0.5", "--terminals", "4")
    first, second = _chaos(*args, "--json"), _chaos(*args, "--json")
    assert first.returncode == second.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert first.stdout == second.stdout
    other = _chaos("--seed", "6", *args[2:], "--json")
    assert other.stdout != first.stdout
    report = json.loads(first.stdout)
    assert report["seed"] == 5
    assert {"seed", "attempts", "faults", "invariants", "violations"} <= set(report)


def test_a_fault_rate_out_of_range_is_refused_by_name() -> None:
    result = _chaos("--fault-rate", "1.5", "--transactions", "10")
    assert result.returncode == 2
    assert "fault-rate" in result.stderr


def test_prepaid_customers_are_audited_like_every_attempt() -> None:
    report = run_chaos(ChaosConfig(seed=3, transactions=500, fault_rate=0.6, terminals=6))
    data = report.as_json()
    assert data["violations"] == [] and data["errors"] == []
    steps = data["steps"]
    for kind in ("prepaid_issue", "prepaid_activate", "prepaid_top_up", "prepaid_sale"):
        assert steps.get(kind, 0) > 0, steps
    prepaid = data["prepaid"]
    assert prepaid["ledger_balanced"] is True
    assert prepaid["movements"] > 0
    assert prepaid["debits_minor"] == prepaid["credits_minor"] > 0
    assert prepaid["negative_balances"] == 0
