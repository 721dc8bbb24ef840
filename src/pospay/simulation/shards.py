"""Running the chaos simulation as independent shards, on as many cores as there are.

A run of `ChaosConfig.shards` shards is that many worlds, each with its own host,
issuer, share of the terminals and share of the attempts, and generators seeded from
the seed and the shard's number (`ChaosConfig.seed_name`). They share nothing, so they
can run in separate processes at once; the report is their reports merged in shard
order (`report.merge_reports`). How many processes run them (`workers`) changes how
long the run takes, never what it reports.

Each worker is a fresh interpreter (the "spawn" start method: no state inherited from
a parent that may hold threads, such as the progress bar's), tells the parent how many
attempts it has started every `PROGRESS_STEP` attempts, and sends its report back when
its world has quiesced and been audited.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import traceback
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Any

from pospay.simulation.loop import run_virtual
from pospay.simulation.report import ChaosReport, build_report, merge_reports
from pospay.simulation.world import ChaosConfig, World

PROGRESS_STEP = 50

Progress = Callable[[int], None]


def run_chaos(
    config: ChaosConfig, progress: Progress | None = None, *, workers: int | None = None
) -> ChaosReport:
    """Run every shard of `config` and merge their reports; `progress` is told the
    number of attempts started so far, over all shards. `workers` processes run the
    shards (default: one per shard, at most one per core); with one, they run here,
    one after the other."""
    tell = progress or (lambda _started: None)
    count = workers if workers is not None else min(config.shards, os.cpu_count() or 1)
    if count <= 1 or config.shards == 1:
        return merge_reports(config, _in_this_process(config, tell))
    return merge_reports(config, _in_processes(config, tell, count))


def run_shard(config: ChaosConfig, shard: int, progress: Progress | None = None) -> ChaosReport:
    """One shard of `config`, on a fresh virtual-time loop: its world's report."""
    return build_report(config, run_virtual(World(config, progress, shard=shard).run()))


def _in_this_process(config: ChaosConfig, tell: Progress) -> list[ChaosReport]:
    reports: list[ChaosReport] = []
    for shard in range(config.shards):
        before = config.share(config.transactions, shard)[0]  # the shards before this one
        reports.append(run_shard(config, shard, functools.partial(_told, tell, before)))
    return reports


def _told(tell: Progress, before: int, started: int) -> None:
    tell(before + started)


def _in_processes(config: ChaosConfig, tell: Progress, workers: int) -> list[ChaosReport]:
    context = multiprocessing.get_context("spawn")
    messages: Queue[tuple[str, int, Any]] = context.Queue()
    level = logging.getLogger("pospay").getEffectiveLevel()
    waiting = list(range(config.shards))
    running: dict[int, Any] = {}
    started = dict.fromkeys(waiting, 0)
    reports: dict[int, ChaosReport] = {}
    try:
        while waiting or running:
            while waiting and len(running) < workers:
                shard = waiting.pop(0)
                process = context.Process(
                    target=_worker, args=(config, shard, level, messages), daemon=True
                )
                process.start()
                running[shard] = process
            kind, shard, value = messages.get()
            if kind == "progress":
                started[shard] = value
                tell(sum(started.values()))
            elif kind == "done":
                reports[shard] = value
                running.pop(shard).join()
            else:
                raise RuntimeError(f"chaos shard {shard} failed:\n{value}")
    finally:
        for process in running.values():
            process.terminate()  # only after a shard failed: the others are ours to end
            process.join()
    return [reports[shard] for shard in range(config.shards)]


def _worker(
    config: ChaosConfig, shard: int, level: int, messages: Queue[tuple[str, int, Any]]
) -> None:
    logging.getLogger("pospay").setLevel(level)

    def progress(started: int) -> None:
        if started % PROGRESS_STEP == 0:
            messages.put(("progress", shard, started))

    try:
        report = run_shard(config, shard, progress)
    except BaseException:
        messages.put(("error", shard, traceback.format_exc()))
        raise
    messages.put(("progress", shard, config.share(config.transactions, shard)[1]))
    messages.put(("done", shard, report))
