"""`pospay sweep`: the chaos simulation over many seeds, looking for a failing history."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pospay.host.defects import Defect
from pospay.simulation.sweep import (
    CRASH_SCALES,
    FAULT_RATES,
    TERMINALS,
    Conditions,
    SweepReport,
    SweepRun,
    run_sweep,
    sweep_configs,
)


def _grid(values: tuple[float, ...]) -> str:
    return ", ".join(f"{value:g}" for value in values)


def sweep(
    first_seed: Annotated[int, typer.Option(help="The first seed of the sweep.")] = 1,
    seeds: Annotated[int, typer.Option(min=1, help="How many seeds, from --first-seed on.")] = 20,
    transactions: Annotated[
        int, typer.Option(min=1, help="Attempts the cashiers start in each world.")
    ] = 1500,
    fault_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help=f"Fix the fault rate (default: drawn from {_grid(FAULT_RATES)})."
        ),
    ] = None,
    crash_scale: Annotated[
        float | None,
        typer.Option(min=0.0, help=f"Fix the crash scale (default: from {_grid(CRASH_SCALES)})."),
    ] = None,
    terminals: Annotated[
        int | None,
        typer.Option(min=1, max=999, help=f"Fix the terminals (default: from {_grid(TERMINALS)})."),
    ] = None,
    defect: Annotated[
        list[Defect] | None,
        typer.Option(help="Switch on a deliberate host bug in every world (repeatable)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worlds run at once (default: one per core)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the sweep as one JSON object.")
    ] = False,
) -> None:
    """Run one chaos world per seed, each under conditions its seed draws, and audit each.

    Exits 1 when any world breaks an invariant; each failing one is listed with the
    `pospay chaos` command that replays it.
    """
    conditions = Conditions(fault_rate, crash_scale, terminals)
    defects = frozenset(defect or ())
    try:
        configs = sweep_configs(first_seed, seeds, transactions, conditions, defects)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    console = Console(stderr=True)
    logging.getLogger("pospay").setLevel(logging.CRITICAL)  # faults are expected, by the thousand
    progress = Progress(
        TextColumn(f"sweep seeds {first_seed}-{first_seed + seeds - 1}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failing]} failing"),
        TimeElapsedColumn(),
        console=console,
        transient=as_json,
    )
    with progress:
        task = progress.add_task("worlds", total=seeds, failing=0)
        failing = 0

        def done(run: SweepRun) -> None:
            nonlocal failing
            failing += 0 if run.ok else 1
            progress.update(task, advance=1, failing=failing)

        report = run_sweep(configs, done, workers=workers)
    if as_json:
        typer.echo(report.to_json())
    else:
        _print_report(Console(), report)
    raise typer.Exit(0 if report.ok else 1)


def _print_report(console: Console, report: SweepReport) -> None:
    data = report.as_json()
    console.print(
        f"{data['seeds']} worlds · {data['attempts']} attempts · {data['faults']} faults injected"
    )
    if report.ok:
        console.print("[green]AGREE 一致[/green]: every invariant holds in every world")
        return
    table = Table(title="Failing worlds 不一致的世界")
    table.add_column("seed", justify="right")
    table.add_column("violations")
    table.add_column("replay")
    for run in report.failing:
        broken = ", ".join(f"{name} {count}" for name, count in run.violations.items())
        if run.errors:
            broken = ", ".join(filter(None, (broken, f"errors {run.errors}")))
        table.add_row(str(run.config.seed), broken, run.replay)
    console.print(table)
    console.print(f"[red]DISAGREE 不一致[/red]: {len(report.failing)} of {data['seeds']} worlds")
