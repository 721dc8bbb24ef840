"""The auditor proves something only if it speaks up: each deliberate host bug
(`pospay.host.defects`) switched on in the same chaotic world must be reported.

One world for all: seed 12, 500 attempts on 8 terminals, every fault site at full rate
and processes crashing twenty times as often as by default, so that the window each bug
opens (a duplicate, a crash between answer and commit, a reversal) is hit. Without a
defect the same world agrees, so what the auditor reports is the bug's doing. (Seed 7
served until the cashiers also served prepaid customers, seed 9 until a host answered a
reversal of an original already reversed from its journal: in their histories since, no
duplicate lands on a request that moves money, so the duplicate bug does no harm there.)
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pospay.host.defects import Defect
from pospay.simulation import ChaosConfig, run_chaos

pytestmark = pytest.mark.slow

WORLD = ChaosConfig(seed=12, transactions=500, fault_rate=1.0, terminals=8, crash_scale=20.0)


def test_without_a_defect_the_world_agrees() -> None:
    report = run_chaos(WORLD)
    assert report.ok, report.as_json()["violations"][:5]


@pytest.mark.parametrize(
    ("defect", "broken"),
    [
        # The issuer holds money under a reference no host approval knows.
        (Defect.SKIP_DUPLICATE_CHECK, "outcome"),
        # The terminal holds an answer the host journal lost in a crash.
        (Defect.REPLY_BEFORE_COMMIT, "outcome"),
        # The host says reversed; the issuer still holds the money.
        (Defect.FORGET_PENDING_REVERSAL, "outcome"),
    ],
)
def test_the_auditor_reports_a_deliberate_bug(defect: Defect, broken: str) -> None:
    report = run_chaos(replace(WORLD, defects=frozenset({defect})))
    assert not report.ok
    assert report.invariants[broken] > 0, report.invariants
    violation = report.as_json()["violations"][0]
    assert violation["seed"] == WORLD.seed
    assert f"--defect {defect.value}" in violation["replay"]
