"""`pospay`: one command, a subcommand per job.

`main` is the boundary between pospay and the person who typed the command: nothing
crosses it as a traceback. Bad usage (an unknown option, a value out of range) and bad
configuration (`ConfigurationError`: a database that cannot be opened, a port that
cannot be listened on, keys that cannot be used) are one line naming the fault, exit 2.
Anything else is a bug: one line naming the exception, exit 70 (EX_SOFTWARE), unless
`POSPAY_TRACEBACK=1` asks for the traceback (the tests set it, so a bug that reaches
this boundary in a child `pospay` still shows where it happened).
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer

# Typer carries its own copy of click; its exceptions are the ones the app raises.
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from pospay.cli.chaos import chaos
from pospay.cli.demo import demo
from pospay.cli.prepaid import prepaid_app
from pospay.cli.printer import printer_app
from pospay.cli.qr import qr_app
from pospay.cli.receipt import receipt
from pospay.cli.serve import serve
from pospay.cli.sweep import sweep
from pospay.cli.wallet import wallet_app
from pospay.errors import ConfigurationError
from pospay.storage.database import unusable_database

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

# What a bug costs the user: sysexits.h's "internal software error".
EXIT_BUG = 70
TRACEBACK_VARIABLE = "POSPAY_TRACEBACK"


def main(argv: list[str] | None = None) -> NoReturn:
    arguments = sys.argv[1:] if argv is None else argv
    command = _command_name(arguments)
    try:
        code = app(args=arguments, prog_name="pospay", standalone_mode=False)
    except NoArgsIsHelpError as asked:
        typer.echo(asked.format_message(), err=True)
        sys.exit(asked.exit_code)
    except ClickException as error:
        _exit(command, f"{error.format_message()} (see {command} --help)", error.exit_code)
    except typer.Abort:
        _exit(command, "aborted: no answer was given", 1)
    except ConfigurationError as error:
        _exit(command, str(error), 2)
    except Exception as error:
        if os.environ.get(TRACEBACK_VARIABLE):
            raise
        reason = unusable_database(error)
        if reason is not None:
            _exit(command, f"the database cannot be used: {reason}", 2)
        _exit(
            command,
            f"unexpected error, a bug in pospay: {type(error).__name__}: {error} "
            f"(run again with {TRACEBACK_VARIABLE}=1 for the traceback, and report it)",
            EXIT_BUG,
        )
    sys.exit(code if isinstance(code, int) else 0)


def _exit(command: str, message: str, status: int) -> NoReturn:
    typer.echo(f"{command}: {' '.join(message.split())}", err=True)
    sys.exit(status)


def _command_name(arguments: list[str]) -> str:
    """`pospay` and the (sub)command the arguments name, e.g. ``pospay prepaid report``."""
    words = ["pospay"]
    group = typer.main.get_command(app)
    for argument in arguments:
        if not isinstance(group, TyperGroup) or argument not in group.commands:
            break
        words.append(argument)
        group = group.commands[argument]
    return " ".join(words)
