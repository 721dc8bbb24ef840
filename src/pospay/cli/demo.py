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
from pospay.demo.printer import PrinterKind
from pospay.demo.recovery import Recovery


def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the databases here (default: a new temporary directory)."),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Where the printed receipts land (images and text).")
    ] = Path("pospay-demo"),
    seed: Annotated[int, typer.Option(help="Seed of the trading day's plan.")] = 1,
    faults: Annotated[
        bool,
        typer.Option(
            "--faults",
            help="Inject the fixed fault script: lost answers, lost requests, a lost "
            "reversal answer, a printer out of paper; the summary shows the recovery.",
        ),
    ] = False,
    printer: Annotated[
        PrinterKind,
        typer.Option(
            help="virtual: the virtual network printer (PNG and text per receipt); "
            "directory: ESC/POS and text files only."
        ),
    ] = PrinterKind.VIRTUAL,
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
                faults=faults,
                printer=printer,
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
    if result.recovery is not None:
        _print_recovery(console, result.recovery)
    console.print(
        f"terminal journal: {report.attempts} attempts · host journal: {report.host_rows} rows · "
        f"issuer: {report.issuer_movements} movements · receipts printed: "
        f"{result.receipts_printed_all} (pending {result.receipts_pending})"
    )
    console.print(f"printer 打印机: {result.printer}")
    prepaid = report.prepaid_summary()
    if prepaid:
        zero_sum = "balanced 借贷平衡" if report.ledger_balanced else "UNBALANCED 借贷不平"
        console.print(
            f"prepaid ledger 储值卡账本: {prepaid['movements']} movements · debits "
            f"{prepaid['debits_minor']} = credits {prepaid['credits_minor']} · {zero_sum}"
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
            "[bold green]AGREE 一致[/bold green]: terminal journal, host journal, issuer "
            "ledger and prepaid ledger agree on every attempt, and the prepaid ledger "
            "sums to zero."
        )
    else:
        console.print("[bold red]DISAGREE 不一致[/bold red]: see the findings above.")


def _print_recovery(console: Console, recovery: Recovery) -> None:
    table = Table(title="Recovery 故障恢复 (--faults)")
    table.add_column("what")
    table.add_column("detail")
    table.add_column("count", justify="right")
    for fault, count in sorted(recovery.faults_injected.items()):
        table.add_row("fault injected", fault, str(count))
    table.add_row("status queries sent", "0600", str(recovery.status_queries_sent))
    for answer, count in sorted(recovery.status_answers.items()):
        table.add_row("status query answer", answer, str(count))
    table.add_row("reversals sent", "0400, every try", str(recovery.reversals_sent))
    for state, count in sorted(recovery.reversals_by_state.items()):
        table.add_row("reversals", state, str(count))
    for reason, count in sorted(recovery.print_tries_refused.items()):
        table.add_row("print tries refused", reason, str(count))
    table.add_row("receipts waiting for paper", "", str(recovery.receipts_waiting_for_paper))
    table.add_row(
        "receipts printed late", "after the printer recovered", str(recovery.receipts_printed_late)
    )
    table.add_row("receipts pending at the end", "", str(recovery.receipts_pending_at_end))
    for faulted in recovery.faulted:
        table.add_row(
            f"voucher {faulted.voucher}",
            f"{faulted.fault.value}: {faulted.outcome} ({faulted.response_code or 'no code'})"
            f", finally {faulted.final_state}",
            "✓" if faulted.recovered else "✗",
        )
    console.print(table)
