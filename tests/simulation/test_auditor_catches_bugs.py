"""The auditor proves something only if it speaks up: each deliberate host bug
(`pospay.host.defects`) switched on in a chaotic world must be reported.

Seed 12, 500 attempts on 8 terminals, every fault site at full rate. Each bug needs its
own window opened, so each runs in the world that opens it: a crash between answer and
commit needs processes crashing twenty times as often as by default (`CRASHING`), while
a duplicate that moves money twice needs card requests to reach the host, which that
many crashes mostly prevent (`DUPLICATING`, crashes as by default: there the duplicate
bug is reported at every seed tried, 12 to 15, in the crashing world at one seed in
twelve). Without a defect both worlds agree, so what the auditor reports is the bug's
doing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pospay.host.defects import Defect
from pospay.simulation import ChaosConfig, run_chaos

pytestmark = pytest.mark.slow

DUPLICATING = ChaosConfig(seed=12, transactions=500, fault_rate=1.0, terminals=8)
CRASHING = replace(DUPLICATING, crash_scale=20.0)


@pytest.mark.parametrize("world", [DUPLICATING, CRASHING], ids=["duplicating", "crashing"])
def test_without_a_defect_the_world_agrees(world: ChaosConfig) -> None:
    report = run_chaos(world)
    assert report.ok, report.as_json()["violations"][:5]


@pytest.mark.parametrize(
    ("defect", "world", "broken"),
    [
        # The issuer holds money under a reference no host approval knows.
        (Defect.SKIP_DUPLICATE_CHECK, DUPLICATING, "outcome"),
        # The terminal holds an answer the host journal lost in a crash.
        (Defect.REPLY_BEFORE_COMMIT, CRASHING, "outcome"),
        # The host says reversed; the issuer still holds the money.
        (Defect.FORGET_PENDING_REVERSAL, CRASHING, "outcome"),
    ],
    ids=lambda value: value.value if isinstance(value, Defect) else None,
)
def test_the_auditor_reports_a_deliberate_bug(
    defect: Defect, world: ChaosConfig, broken: str
) -> None:
    report = run_chaos(replace(world, defects=frozenset({defect})))
    assert not report.ok
    assert report.invariants[broken] > 0, report.invariants
    violation = report.as_json()["violations"][0]
    assert violation["seed"] == world.seed
    assert f"--defect {defect.value}" in violation["replay"]
