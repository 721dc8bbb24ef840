"""`pospay demo`: a short trading day, a summary and the agreement verdict."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pospay.demo import DemoResult, run_demo


def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the databases here (default: a new temporary directory)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where the receipts are printed.")] = Path(
        "pospay-demo"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the trading day's plan.")] = 1,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Run a short trading day: host, issuer simulator and a terminal on SQLite, over TCP."""
    directory = data_dir or Path(tempfile.mkdtemp(prefix="pospay-demo-"))
    console = Console(stderr=as_json)
    progress = Progress(
        TextColumn("trading day"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=as_json,
    )
    with progress:
        task = progress.add_task("attempts", total=None)
        result = asyncio.run(
            run_demo(
                directory,
                out,
                seed=seed,
                on_start=lambda total: progress.update(task, total=total),
                on_attempt=lambda _planned: progress.advance(task),
            )
        )
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_summary(console, result)
    raise typer.Exit(0 if result.agreement else 1)


def _print_summary(console: Console, result: DemoResult) -> None:
    table = Table(title="Trading day 营业日汇总")
    table.add_column("count of")
    table.add_column("value")
    table.add_column("attempts", justify="right")
    for title, counter in (
        ("type", result.by_type),
        ("method", result.by_method),
        ("outcome", result.by_outcome),
        ("response code", result.by_response_code),
    ):
        for value, count in sorted(counter.items()):
            table.add_row(title, value, str(count))
    console.print(table)
    report = result.report
    console.print(
        f"terminal journal: {report.attempts} attempts · host journal: {report.host_rows} rows · "
        f"issuer: {report.issuer_movements} movements · receipts printed: {result.receipts_printed}"
        f" (pending {result.receipts_pending}) in {result.out_dir}/"
    )
    settlement = result.settlement
    if settlement is not None:
        how = (
            "balanced"
            if settlement.balanced_first_time
            else f"after uploading {settlement.uploaded}"
        )
        console.print(
            f"settlement 结算: batch {settlement.batch} response {settlement.response_code} "
            f"({how}), {settlement.attempts_settled} attempts settled, "
            f"next batch {settlement.next_batch}"
        )
    console.print(f"databases and log: {result.data_dir}")
    for finding in report.findings:
        console.print(f"[red]✗ {finding.invariant}[/red] {finding.attempt}: {finding.detail}")
    for surprise in result.unexpected:
        console.print(f"[red]✗ unexpected[/red] {surprise}")
    if result.agreement:
        console.print(
            "[bold green]AGREE 一致[/bold green]: terminal journal, host journal and "
            "issuer ledger agree on every attempt."
        )
    else:
        console.print("[bold red]DISAGREE 不一致[/bold red]: see the findings above.")
