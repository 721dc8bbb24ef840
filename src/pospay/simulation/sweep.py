"""Many chaos worlds, one per seed, under varied conditions: where one seed's history is
one test, a sweep is a search for the history that breaks an invariant.

Each seed of the sweep gets its own world (one shard) with a fault rate, a crash scale
and a number of terminals drawn from small grids by the seed itself (`sweep_configs`),
unless the caller fixes them. So `--first-seed 8000 --seeds 200` always means the same
200 worlds, and every failing one is reported with the `pospay chaos` command that
replays it exactly. Worlds run in worker processes, as many at once as there are cores
by default; which process ran a world never changes its report.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from pospay.host.defects import Defect
from pospay.simulation.report import ChaosReport
from pospay.simulation.shards import run_shard
from pospay.simulation.world import ChaosConfig

# The conditions a seed is drawn into: calm to stormy, few crashes to many, one terminal
# (everything on one journal) to a shop of forty.
FAULT_RATES = (0.1, 0.3, 0.5, 0.7, 0.9)
CRASH_SCALES = (0.5, 1.0, 2.0, 4.0)
TERMINALS = (1, 2, 5, 16, 40)


@dataclass(frozen=True, slots=True)
class Conditions:
    """What the caller fixes for every world of the sweep (None: drawn per seed)."""

    fault_rate: float | None = None
    crash_scale: float | None = None
    terminals: int | None = None


def sweep_configs(
    first_seed: int,
    seeds: int,
    transactions: int,
    conditions: Conditions = Conditions(),
    defects: frozenset[Defect] = frozenset(),
) -> list[ChaosConfig]:
    """The worlds of a sweep, in seed order; each draws what `conditions` leave open."""
    if seeds < 1:
        raise ValueError("a sweep needs at least one seed")
    configs = []
    for seed in range(first_seed, first_seed + seeds):
        draw = random.Random(f"pospay-sweep:{seed}")
        rate, scale, terminals = (
            draw.choice(FAULT_RATES),
            draw.choice(CRASH_SCALES),
            draw.choice(TERMINALS),
        )
        configs.append(
            ChaosConfig(
                seed=seed,
                transactions=transactions,
                fault_rate=rate if conditions.fault_rate is None else conditions.fault_rate,
                terminals=terminals if conditions.terminals is None else conditions.terminals,
                defects=defects,
                crash_scale=scale if conditions.crash_scale is None else conditions.crash_scale,
            )
        )
    return configs


@dataclass(frozen=True, slots=True)
class SweepRun:
    """One world of the sweep, as the sweep reports it."""

    config: ChaosConfig
    attempts: int
    faults: int
    violations: dict[str, int]  # per invariant, only those violated
    errors: int
    replay: str

    @property
    def ok(self) -> bool:
        return not self.violations and not self.errors

    @classmethod
    def of(cls, report: ChaosReport) -> SweepRun:
        return cls(
            config=report.config,
            attempts=report.attempts,
            faults=sum(report.faults.values()),
            violations={name: count for name, count in report.invariants.items() if count},
            errors=len(report.errors),
            replay=report.replay_command(),
        )

    def as_json(self) -> dict[str, Any]:
        config = self.config
        return {
            "seed": config.seed,
            "fault_rate": config.fault_rate,
            "crash_scale": config.crash_scale,
            "terminals": config.terminals,
            "attempts": self.attempts,
            "faults": self.faults,
            "violations": self.violations,
            "errors": self.errors,
            "ok": self.ok,
            "replay": self.replay,
        }


@dataclass(frozen=True, slots=True)
class SweepReport:
    runs: tuple[SweepRun, ...]  # in seed order

    @property
    def failing(self) -> tuple[SweepRun, ...]:
        return tuple(run for run in self.runs if not run.ok)

    @property
    def ok(self) -> bool:
        return not self.failing

    def as_json(self) -> dict[str, Any]:
        return {
            "seeds": len(self.runs),
            "attempts": sum(run.attempts for run in self.runs),
            "faults": sum(run.faults for run in self.runs),
            "failing": [run.config.seed for run in self.failing],
            "runs": [run.as_json() for run in self.runs],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_json(), indent=2, sort_keys=True)


Done = Callable[[SweepRun], None]


def run_sweep(
    configs: list[ChaosConfig], done: Done | None = None, *, workers: int | None = None
) -> SweepReport:
    """Run every world of `configs`, `workers` at a time (default: one per core; with
    one, here, one after the other); `done` is told each run as it finishes."""
    tell = done or (lambda _run: None)
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count <= 1 or len(configs) == 1:
        runs = [_told(tell, SweepRun.of(run_shard(config, 0))) for config in configs]
    else:
        runs = list(_in_processes(configs, tell, count))
    return SweepReport(tuple(sorted(runs, key=lambda run: run.config.seed)))


def _told(tell: Done, run: SweepRun) -> SweepRun:
    tell(run)
    return run


def _in_processes(configs: list[ChaosConfig], tell: Done, workers: int) -> Iterator[SweepRun]:
    level = logging.getLogger("pospay").getEffectiveLevel()
    # "spawn": a fresh interpreter per worker, with no thread of the parent's (see shards).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures: list[Future[SweepRun]] = [pool.submit(_world, config, level) for config in configs]
        for future in as_completed(futures):
            yield _told(tell, future.result())


def _world(config: ChaosConfig, level: int) -> SweepRun:
    logging.getLogger("pospay").setLevel(level)
    return SweepRun.of(run_shard(config, 0))
