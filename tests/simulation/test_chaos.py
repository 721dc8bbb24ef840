"""`pospay chaos` end to end: the production code under faults, audited, replayable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pospay.simulation import ChaosConfig, run_chaos, run_shard

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


def test_how_many_processes_run_the_shards_never_changes_the_report() -> None:
    config = ChaosConfig(seed=3, transactions=90, fault_rate=0.5, terminals=5, shards=2)
    here = run_chaos(config, workers=1)
    seen: list[int] = []
    apart = run_chaos(config, seen.append, workers=2)
    assert here.to_json() == apart.to_json()
    assert seen and seen[-1] == 90  # progress adds up the shards
    data = here.as_json()
    # Every step is an attempt, but one a terminal crash cut off before it was recorded.
    started = 90 - data["faults"]["terminal_crash_before_commit"]
    assert data["shards"] == 2 and data["attempts"] >= started and data["violations"] == []
    # Shard 0 has terminals 90000001-03, shard 1 90000004-05: each its own world.
    assert data["recovery"]["batches_settled"] == 5


def test_a_shard_is_a_world_of_its_own() -> None:
    config = ChaosConfig(seed=4, transactions=60, fault_rate=0.0, terminals=4, shards=2)
    merged = run_chaos(config, workers=1).as_json()
    shards = [run_shard(config, shard).as_json() for shard in range(2)]
    assert [shard["attempts"] for shard in shards] == [30, 30]
    assert merged["attempts"] == 60 == sum(shard["attempts"] for shard in shards)
    assert merged["receipts"]["stored"] == sum(shard["receipts"]["stored"] for shard in shards)
    assert shards[0]["steps"] != shards[1]["steps"]  # each shard draws from its own seed


def test_shards_that_cannot_be_filled_are_refused() -> None:
    with pytest.raises(ValueError, match="one shard per terminal"):
        ChaosConfig(seed=1, transactions=100, fault_rate=0.1, terminals=2, shards=3)
    result = _chaos("--transactions", "1", "--shards", "2")
    assert result.returncode == 2
    assert "at least one transaction per shard" in result.stderr


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
