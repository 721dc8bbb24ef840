"""`pospay chaos`: the deterministic chaos simulation and the auditor's verdict on it."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pospay.host.defects import Defect
from pospay.simulation import ChaosConfig, ChaosReport, run_chaos

# Redraw the bar every this many attempts: drawing is not free, attempts are many.
_PROGRESS_STEP = 100
# Two worlds by default: this machine's two cores, and a report that is the same on any.
DEFAULT_SHARDS = 2


def chaos(
    seed: Annotated[int, typer.Option(help="Seed of everything random in the run.")] = 1,
    transactions: Annotated[
        int, typer.Option(min=1, help="How many attempts the cashiers start.")
    ] = 10_000,
    fault_rate: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Scales every fault site; at 0.2 about one attempt in five."
        ),
    ] = 0.2,
    terminals: Annotated[int, typer.Option(min=1, max=999, help="Terminals in the shop.")] = 16,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
    crash_scale: Annotated[
        float, typer.Option(min=0.0, help="Multiplies how often processes crash around a commit.")
    ] = 1.0,
    defect: Annotated[
        list[Defect] | None,
        typer.Option(
            help="Switch on a deliberate host bug, to see the auditor catch it (repeatable)."
        ),
    ] = None,
    shards: Annotated[
        int,
        typer.Option(
            min=1,
            help="Independent worlds the terminals and attempts are split into, each with "
            "its own host and issuer; part of the run, so part of its report.",
        ),
    ] = DEFAULT_SHARDS,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes running the shards at once (default: one per shard, at most "
            "one per core); never changes the report.",
        ),
    ] = None,
) -> None:
    """Run terminals, host and issuer on one seeded loop with faults, then audit them all.

    Exits 1 when the auditor finds any violation; the report names each one with the
    seed and the command that replays it.
    """
    try:
        config = ChaosConfig(
            seed, transactions, fault_rate, terminals, frozenset(defect or ()), crash_scale, shards
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    console = Console(stderr=True)
    logging.getLogger("pospay").setLevel(logging.CRITICAL)  # faults are expected, by the thousand
    progress = Progress(
        TextColumn(f"chaos seed {seed}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=as_json,
    )
    with progress:
        task = progress.add_task("attempts", total=transactions)

        shown = 0

        def advance(started: int) -> None:
            nonlocal shown
            if started - shown >= _PROGRESS_STEP or started == transactions:
                progress.update(task, completed=started)
                shown = started

        report = run_chaos(config, advance, workers=workers)
    if as_json:
        typer.echo(report.to_json())
    else:
        _print_report(Console(), report)
    raise typer.Exit(0 if report.ok else 1)


def _print_report(console: Console, report: ChaosReport) -> None:
    data = report.as_json()
    faults = Table(title="Faults injected 注入故障")
    faults.add_column("fault")
    faults.add_column("count", justify="right")
    for name, count in data["faults"].items():
        faults.add_row(name, str(count))
    console.print(faults)
    invariants = Table(title="Invariants 不变量")
    invariants.add_column("invariant")
    invariants.add_column("violations", justify="right")
    for name, count in data["invariants"].items():
        invariants.add_row(name, str(count))
    console.print(invariants)
    console.print(
        f"attempts {data['attempts']} · host rows {data['host_journal_rows']} · "
        f"issuer movements {data['issuer_movements']} · crashes {data['crashes']} · "
        f"virtual time {data['virtual_seconds']:.0f} s"
    )
    prepaid = data["prepaid"]
    if prepaid:
        balanced = "balanced 借贷平衡" if prepaid["ledger_balanced"] else "UNBALANCED 不平"
        console.print(
            f"prepaid ledger 储值卡账本: {prepaid['movements']} movements · debits "
            f"{prepaid['debits_minor']} = credits {prepaid['credits_minor']} · {balanced}"
        )
    for violation in data["violations"][:50]:
        console.print(
            f"[red]{violation['invariant']}[/red] {violation['attempt']}: {violation['detail']}"
        )
    if len(data["violations"]) > 50:
        console.print(f"… and {len(data['violations']) - 50} more (see --json)")
    for error in data["errors"]:
        console.print(f"[red]error[/red] {error}")
    if report.ok:
        console.print("[green]AGREE 一致[/green]: every invariant holds over every attempt")
    else:
        console.print(f"[red]DISAGREE 不一致[/red]: replay with `{report.replay_command()}`")
