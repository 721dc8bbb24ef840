"""`pospay prepaid`: the prepaid programme's books, for its operator.

    pospay prepaid report --data-dir DIR [--db URL] [--json]
    pospay prepaid statement --data-dir DIR [--db URL] [--card PAN] [--json]
    pospay prepaid limits --data-dir DIR [--db URL] [--card PAN] --max-balance A --daily-spend A
    pospay prepaid expire --data-dir DIR [--db URL]

The data directory is a host's (`pospay serve --data-dir`, the demo's `--data-dir`): its
database is `host.db` (or `--db URL`), the key of the programme's card references
`keys/prepaid-pan.key`. `report` prints the totals per kind of account and the zero-sum
check, and exits 0 when the books balance, 1 when they do not. `statement` asks for the
card number unless `--card` gives it (it is read, never stored, printed or logged: the
statement shows the masked number) and prints every entry of the card with the balance
after it; it exits 1 when the entries do not add up to the card's balance. `limits`
gives one card its own maximum balance and daily spending limit (amounts in major
units of the programme's currency, e.g. 800.00). `expire` runs the expiry job
(`pospay.prepaid.expiry`). Each exits 2 naming the fault when there
is no such database, key or card.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, inspect

from pospay.cards import pan_reference, validate_pan
from pospay.clock import SystemClock
from pospay.errors import InvalidAmount, InvalidCard
from pospay.money import Money, format_money
from pospay.prepaid import TEST_PROGRAMME
from pospay.prepaid.cards import card_account_id, set_limits
from pospay.prepaid.expiry import expire_cards
from pospay.prepaid.reports import LedgerReport, Statement, card_statement, ledger_report
from pospay.prepaid.tables import prepaid_account
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url

prepaid_app = typer.Typer(
    name="prepaid",
    help="The prepaid programme's books: ledger report, card statements, expiry.",
    no_args_is_help=True,
)

DataDir = Annotated[
    Path, typer.Option("--data-dir", help="The host's data directory (database, keys).")
]
DbOption = Annotated[
    str | None, typer.Option("--db", help="Host database URL (default: DIR/host.db).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Write the result as JSON.")]


@prepaid_app.command()
def report(data_dir: DataDir, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Totals per kind of account, and the check that the books sum to zero."""
    with _books(data_dir, db) as engine, engine.connect() as connection:
        books = ledger_report(connection)
    if as_json:
        typer.echo(json.dumps(_report_json(books), ensure_ascii=False, indent=1))
    else:
        _print_report(Console(), books)
    raise typer.Exit(0 if books.balanced else 1)


@prepaid_app.command()
def statement(
    data_dir: DataDir,
    db: DbOption = None,
    card: Annotated[
        str | None,
        typer.Option(help="The card number (asked for, hidden, when not given)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every entry of one card, oldest first, with the balance after each."""
    account_id = _card_account(data_dir, card)
    with _books(data_dir, db) as engine, engine.connect() as connection:
        found = card_statement(connection, account_id)
    if found is None:
        _fail("the prepaid programme never issued this card")
    if as_json:
        typer.echo(json.dumps(_statement_json(found), ensure_ascii=False, indent=1))
    else:
        _print_statement(Console(), found)
    raise typer.Exit(0 if found.proven else 1)


@prepaid_app.command()
def limits(
    data_dir: DataDir,
    max_balance: Annotated[str, typer.Option(help="The card's maximum balance, e.g. 800.00.")],
    daily_spend: Annotated[str, typer.Option(help="What it may pay in a day, e.g. 300.00.")],
    db: DbOption = None,
    card: Annotated[
        str | None,
        typer.Option(help="The card number (asked for, hidden, when not given)."),
    ] = None,
) -> None:
    """Give one card its own limits: maximum balance and daily spending."""
    amounts = []
    for name, text in (("--max-balance", max_balance), ("--daily-spend", daily_spend)):
        try:
            amount = Money.parse(text, TEST_PROGRAMME.currency)
        except InvalidAmount as fault:
            _fail(f"{name}: {fault}")
        if amount.minor <= 0:
            _fail(f"{name}: a limit is a positive amount, not {text}")
        amounts.append(amount)
    account_id = _card_account(data_dir, card)
    with _books(data_dir, db) as engine, engine.begin() as connection:
        done = set_limits(connection, account_id, amounts[0], amounts[1])
    if not done:
        _fail("the prepaid programme never issued this card")
    typer.echo(f"limits set: balance {format_money(amounts[0])}, daily {format_money(amounts[1])}")


@prepaid_app.command()
def expire(data_dir: DataDir, db: DbOption = None) -> None:
    """Expire every card past its expiry month: its balance to the expired account."""
    with _books(data_dir, db) as engine, engine.begin() as connection:
        expired = expire_cards(connection, SystemClock().now())
    for card in expired:
        typer.echo(f"expired {card.pan_masked} ({card.expiry}): {format_money(card.balance)}")
    typer.echo(f"{len(expired)} cards expired 张卡已过期")


@contextmanager
def _books(data_dir: Path, db: str | None) -> Iterator[Engine]:
    path = data_dir / "host.db"
    if db is None and not path.exists():
        _fail(f"no host database at {path}")
    engine = open_engine(db or sqlite_url(path))
    try:
        if not inspect(engine).has_table(prepaid_account.name):
            _fail("the host database has no prepaid programme (run the host once)")
        yield engine
    finally:
        engine.dispose()


def _card_account(data_dir: Path, card: str | None) -> str:
    """The account of the card `card` names (asked for, hidden, when None)."""
    pan = card if card is not None else typer.prompt("card number 卡号", hide_input=True)
    try:
        validate_pan(pan.strip())
    except InvalidCard as fault:
        _fail(f"not a card number: {fault}")
    return card_account_id(pan_reference(pan.strip(), _key(data_dir)))


def _key(data_dir: Path) -> bytes:
    path = data_dir / "keys" / "prepaid-pan.key"
    if not path.exists():
        _fail(f"no prepaid card key at {path}: not a pospay host's data directory")
    return path.read_bytes()


def _minor(minor: int, currency: str = "CNY") -> str:
    return format_money(Money(minor, currency))


def _report_json(books: LedgerReport) -> dict[str, Any]:
    check = books.check
    return {
        "balanced": books.balanced,
        "debits_minor": check.trial.debits_minor,
        "credits_minor": check.trial.credits_minor,
        "debit_normal_balances_minor": books.debit_normal_minor,
        "credit_normal_balances_minor": books.credit_normal_minor,
        "unbalanced_entries": check.unbalanced_entries,
        "balance_mismatches": check.balance_mismatches,
        "negative_balances": check.negative_balances,
        "by_account_kind": [
            {
                "kind": total.kind,
                "normal_side": total.normal_side,
                "accounts": total.accounts,
                "debits_minor": total.debits_minor,
                "credits_minor": total.credits_minor,
                "balance_minor": total.balance_minor,
            }
            for total in books.by_kind
        ],
    }


def _print_report(console: Console, books: LedgerReport) -> None:
    table = Table(title="Prepaid ledger 储值卡账本")
    for column in ("account kind", "normal side", "accounts", "debits", "credits", "balances"):
        table.add_column(column, justify="left" if column.endswith(("kind", "side")) else "right")
    for t in books.by_kind:
        table.add_row(
            t.kind,
            t.normal_side,
            str(t.accounts),
            _minor(t.debits_minor),
            _minor(t.credits_minor),
            _minor(t.balance_minor),
        )
    check = books.check
    table.add_row(
        "total", "", "", _minor(check.trial.debits_minor), _minor(check.trial.credits_minor), ""
    )
    console.print(table)
    console.print(
        f"debit-normal balances {_minor(books.debit_normal_minor)} · credit-normal balances "
        f"{_minor(books.credit_normal_minor)}"
    )
    for problem in check.problems("prepaid"):
        console.print(f"[red]✗[/red] {problem}")
    if books.balanced:
        console.print(
            "[green]BALANCED 借贷平衡[/green]: every debit has its credit; no balance is negative"
        )
    else:
        console.print("[red]UNBALANCED 借贷不平[/red]: see above")


def _statement_json(found: Statement) -> dict[str, Any]:
    card = found.card
    return {
        "card": card.pan_masked,
        "expiry": card.expiry,
        "status": card.status,
        "balance_minor": card.balance.minor,
        "currency": card.balance.currency,
        "max_balance_minor": card.max_balance.minor,
        "daily_spend_minor": card.daily_spend.minor,
        "proven": found.proven,
        "lines": [
            {
                "at": line.at.isoformat(),
                "reference": line.reference,
                "purpose": line.purpose,
                "amount_minor": line.amount.minor,
                "balance_minor": line.balance.minor,
            }
            for line in found.lines
        ],
        "events": [
            {"at": e.at.isoformat(), "reference": e.reference, "kind": e.kind, "state": e.state}
            for e in found.events
        ],
    }


def _print_statement(console: Console, found: Statement) -> None:
    card = found.card
    console.print(
        f"card 卡号 {card.pan_masked} · expiry {card.expiry} · status {card.status} · "
        f"limits: balance {format_money(card.max_balance)}, daily {format_money(card.daily_spend)}"
    )
    table = Table(title="Statement 对账单")
    for column in ("date/time", "reference", "what", "amount", "balance"):
        table.add_column(column, justify="right" if column in ("amount", "balance") else "left")
    for line in found.lines:
        table.add_row(
            line.at.strftime("%Y-%m-%d %H:%M:%S"),
            line.reference,
            line.purpose,
            format_money(line.amount),
            format_money(line.balance),
        )
    console.print(table)
    for event in found.events:
        console.print(
            f"{event.at:%Y-%m-%d %H:%M:%S} {event.reference} {event.kind} ({event.state})"
        )
    if found.proven:
        console.print(
            f"[green]balance 余额 {format_money(card.balance)}[/green]: the entries add up"
        )
    else:
        console.print(
            f"[red]the entries add up to {format_money(found.closing)}, the card holds "
            f"{format_money(card.balance)}[/red]"
        )


def _fail(message: str) -> NoReturn:
    typer.echo(f"pospay prepaid: {message}", err=True)
    raise typer.Exit(2)
