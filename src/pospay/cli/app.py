"""`pospay`: one command, a subcommand per job."""

from __future__ import annotations

import typer

from pospay.cli.chaos import chaos
from pospay.cli.demo import demo
from pospay.cli.prepaid import prepaid_app
from pospay.cli.printer import printer_app
from pospay.cli.qr import qr_app
from pospay.cli.receipt import receipt
from pospay.cli.serve import serve
from pospay.cli.sweep import sweep
from pospay.cli.wallet import wallet_app

app = typer.Typer(
    name="pospay",
    help="Payment point-of-sale platform: terminal engine, ISO 8583 host, simulators, receipts.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(demo)
app.command()(serve)
app.command()(chaos)
app.command()(sweep)
app.add_typer(printer_app)
app.add_typer(prepaid_app)
app.add_typer(receipt, name="receipt")
app.add_typer(qr_app, name="qr")
app.add_typer(wallet_app, name="wallet")


def main() -> None:
    app()
