"""`pospay sweep`: one chaos world per seed under drawn conditions, each audited, each
failing one reported with the command that replays it."""

from __future__ import annotations

import json
import subprocess

import pytest

from demo_runs import run_pospay
from pospay.host.defects import Defect
from pospay.simulation import run_chaos
from pospay.simulation.sweep import (
    CRASH_SCALES,
    FAULT_RATES,
    TERMINALS,
    Conditions,
    run_sweep,
    sweep_configs,
)


def _sweep(*args: str) -> subprocess.CompletedProcess[str]:
    return run_pospay("sweep", *args, timeout=600)


def test_each_seed_draws_its_own_conditions_and_always_the_same() -> None:
    configs = sweep_configs(100, 60, 500)
    assert [config.seed for config in configs] == list(range(100, 160))
    assert configs == sweep_configs(100, 60, 500)
    assert {config.fault_rate for config in configs} == set(FAULT_RATES)
    assert {config.crash_scale for config in configs} == set(CRASH_SCALES)
    assert {config.terminals for config in configs} == set(TERMINALS)
    assert {(config.transactions, config.shards) for config in configs} == {(500, 1)}
    # A later sweep that starts inside this one gives the same worlds for the same seeds.
    assert sweep_configs(130, 5, 500) == configs[30:35]


def test_what_the_caller_fixes_holds_in_every_world() -> None:
    fixed = sweep_configs(1, 20, 300, Conditions(fault_rate=0.4, crash_scale=3.0, terminals=7))
    assert {(c.fault_rate, c.crash_scale, c.terminals) for c in fixed} == {(0.4, 3.0, 7)}
    with pytest.raises(ValueError, match="at least one seed"):
        sweep_configs(1, 0, 300)


@pytest.mark.slow
def test_a_failing_world_is_reported_with_a_replay_that_reproduces_it() -> None:
    # The auditor's test world (tests/simulation/test_auditor_catches_bugs.py), with a
    # host that answers before it commits.
    [config] = sweep_configs(
        12,
        1,
        500,
        Conditions(fault_rate=1.0, crash_scale=20.0, terminals=8),
        frozenset({Defect.REPLY_BEFORE_COMMIT}),
    )
    report = run_sweep([config], workers=1)
    assert not report.ok
    [failing] = report.failing
    assert failing.violations.get("outcome", 0) > 0
    assert failing.replay == (
        "pospay chaos --seed 12 --transactions 500 --fault-rate 1 --terminals 8 --shards 1"
        " --defect reply_before_commit --crash-scale 20"
    )
    replayed = run_chaos(config)
    assert {name: n for name, n in replayed.invariants.items() if n} == failing.violations


@pytest.mark.slow
def test_the_command_sweeps_in_worker_processes_and_reports_as_json() -> None:
    result = _sweep("--first-seed", "40", "--seeds", "3", "--transactions", "40", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["seeds"], data["failing"]) == (3, [])
    assert [run["seed"] for run in data["runs"]] == [40, 41, 42]
    assert all(run["ok"] and run["violations"] == {} for run in data["runs"])
    assert data["attempts"] == sum(run["attempts"] for run in data["runs"]) >= 120
    # How many processes ran the worlds never changes what the sweep reports.
    serial = _sweep(
        "--first-seed", "40", "--seeds", "3", "--transactions", "40", "--json", "--workers", "1"
    )
    assert serial.stdout == result.stdout


def test_a_sweep_of_no_seeds_is_refused_by_name() -> None:
    result = _sweep("--seeds", "0")
    assert result.returncode == 2
    assert "--seeds" in result.stderr
