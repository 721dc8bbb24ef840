"""The fault plan: seeded, counted, scaled by one rate."""

from __future__ import annotations

import random

import pytest

from pospay.simulation.faults import SITES, Fault, FaultPlan, Site


def _draws(seed: int, rate: float, n: int = 20_000) -> list[Fault | None]:
    plan = FaultPlan(random.Random(seed), rate)
    return [plan.draw(site) for _ in range(n // len(Site)) for site in Site]


def test_the_same_seed_draws_the_same_faults() -> None:
    assert _draws(7, 0.5) == _draws(7, 0.5)
    assert _draws(7, 0.5) != _draws(8, 0.5)


def test_rate_zero_injects_nothing_and_a_disabled_plan_neither() -> None:
    assert set(_draws(1, 0.0)) == {None}
    plan = FaultPlan(random.Random(1), 1.0)
    plan.enabled = False
    assert {plan.draw(site) for site in Site for _ in range(100)} == {None}


def test_every_fault_is_drawn_at_its_site_and_counted() -> None:
    plan = FaultPlan(random.Random(3), 1.0)
    drawn: dict[Fault, Site] = {}
    for _ in range(20_000):
        for site in Site:
            fault = plan.draw(site)
            if fault is not None:
                drawn[fault] = site
                assert fault in SITES[site][1]
    assert set(drawn) == set(Fault)
    report = plan.report()
    assert list(report) == [fault.value for fault in Fault]
    assert sum(report.values()) == sum(plan.counts.values()) > 0


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_rate_outside_0_to_1_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(random.Random(1), rate)
