"""Chaos simulation throughput: attempts per second of CPU, and the auditor's verdict.

Runs `pospay.simulation.run_chaos` for each --transactions given, its shards in worker
processes (--workers, default one per shard and core), and writes one JSON object per run
(and the machine) to --out: wall time, and CPU time of this process and its workers. The
run's report is the same as `pospay chaos --json` gives; the timing lives only here,
because the report itself must not depend on the machine.

The machine's own speed is not constant (on a shared virtual machine the 100,000-attempt
run took 510 s one hour and 290 s the next, on the same code), so each run is bracketed
by a fixed reference run (seed 1, 300 transactions, 4 terminals, one shard, in this
process), timed before and after: its CPU milliseconds per attempt say roughly how fast
the machine was then, and runs from different days compare through them.

    python bench/chaos.py --transactions 2000 10000 --fault-rate 0.2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pospay.simulation import ChaosConfig, run_chaos

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "chaos.json"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, nargs="+", default=[2000])
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--terminals", type=int, default=16)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def _cpu_seconds() -> float:
    """CPU time of this process and of the worker processes it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


_REFERENCE = ChaosConfig(1, 300, 0.2, 4)


def _reference_ms_per_attempt() -> float:
    """CPU milliseconds per attempt of the fixed reference run: the machine's speed now."""
    cpu = time.process_time()
    attempts: int = run_chaos(_REFERENCE, workers=1).as_json()["attempts"]
    return round(1000 * (time.process_time() - cpu) / attempts, 2)


def _run(config: ChaosConfig, workers: int | None) -> dict[str, Any]:
    reference_before = _reference_ms_per_attempt()
    wall, cpu = time.perf_counter(), _cpu_seconds()
    report = run_chaos(config, workers=workers)
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    reference_after = _reference_ms_per_attempt()
    data = report.as_json()
    return {
        "transactions": config.transactions,
        "fault_rate": config.fault_rate,
        "seed": config.seed,
        "terminals": config.terminals,
        "shards": config.shards,
        "workers": workers,
        "attempts": data["attempts"],
        "faults_total": data["faults_total"],
        "violations": len(data["violations"]),
        "errors": len(data["errors"]),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "attempts_per_cpu_second": round(data["attempts"] / cpu, 1),
        "attempts_per_wall_second": round(data["attempts"] / wall, 1),
        "cpu_ms_per_attempt": round(1000 * cpu / data["attempts"], 2),
        "reference_cpu_ms_per_attempt": [reference_before, reference_after],
        "faults": data["faults"],
        "virtual_seconds": data["virtual_seconds"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    logging.getLogger("pospay").setLevel(logging.CRITICAL)
    runs = []
    _reference_ms_per_attempt()  # once before timing it: what the first run imports
    for transactions in arguments.transactions:
        config = ChaosConfig(
            arguments.seed,
            transactions,
            arguments.fault_rate,
            arguments.terminals,
            shards=arguments.shards,
        )
        runs.append(_run(config, arguments.workers))
        print(json.dumps(runs[-1]))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "chaos",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "runs": runs,
    }
    arguments.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if all(run["violations"] == 0 and run["errors"] == 0 for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
