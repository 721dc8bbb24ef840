"""`pospay receipt`: export a terminal's chain of signed receipts, verify receipts,
audit receipts against the journal.

    pospay receipt export --data-dir DIR [--terminal ID] [--counter N] --out FILE
    pospay receipt verify FILE [--public-key HEX|FILE] [--qr PAYLOAD]
    pospay receipt public-key --data-dir DIR [--terminal ID]
    pospay receipt audit --data-dir DIR [--db URL] [--json]

The data directory is a terminal's (the demo's `--data-dir`): its journal is
`terminal.db` (or `--db URL`), its signing key `keys/terminal-<id>-receipt.key`. The
formats are in `pospay.receipts.chain`. `verify` exits 0 when every check passes,
1 naming each fault, 2 when the file cannot be read as a receipt or chain at all.
`audit` (checks in `pospay.audit.receipts`) exits 0 when every receipt matches its
journal entry, 1 naming each mismatch (receipt and field), 2 without a database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import inspect

from pospay.audit.receipts import check_receipts, read_issued, reprint_summary
from pospay.receipts.chain import (
    Fault,
    FaultKind,
    MalformedError,
    check_seal,
    export_chain,
    parse_chain,
    parse_record,
    record_json,
    verify_chain,
    verify_receipt,
)
from pospay.receipts.signing import (
    SignedDocument,
    key_id,
    load_public_key,
    public_key_hex,
    read_qr_payload,
)
from pospay.runtime.keys import load_signing_key, receipt_key_path
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url
from pospay.terminal.receipt_chain import chained_terminals, stored_chain
from pospay.terminal.tables import (
    terminal_receipt,
    terminal_receipt_document,
    terminal_reprint_audit,
)

receipt = typer.Typer(
    help="Signed e-receipts: export a terminal's chain, verify receipts or chains.",
    no_args_is_help=True,
)

_SHOWN_FAULTS = 50

DataDir = Annotated[
    Path, typer.Option("--data-dir", help="The terminal's data directory (databases, keys).")
]
TerminalOption = Annotated[
    str | None,
    typer.Option("--terminal", help="Terminal id (default: the only one with receipts)."),
]
DbOption = Annotated[
    str | None, typer.Option("--db", help="Terminal database URL (default: DIR/terminal.db).")
]


@receipt.command()
def export(
    data_dir: DataDir,
    out: Annotated[Path, typer.Option("--out", help="Where to write the JSON document.")],
    terminal: TerminalOption = None,
    counter: Annotated[
        int | None, typer.Option("--counter", min=1, help="Export this one receipt only.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a terminal's chain of signed receipts, with its public key, as one JSON document."""
    terminal_id, chain = _read_chain(data_dir, db, terminal)
    key = _signing_key(data_dir, terminal_id)
    document: dict[str, Any]
    if counter is None:
        exported_at = datetime.now(UTC).isoformat(timespec="seconds")
        document = export_chain(terminal_id, chain, key, exported_at)
        what = f"{len(chain)} receipts"
    else:
        chosen = [signed for signed in chain if signed.counter == counter]
        if not chosen:
            _fail(f"terminal {terminal_id} has no receipt {counter}")
        document = record_json(chosen[0]) | {"public_key": public_key_hex(key.public_key())}
        what = f"receipt {counter}"
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    out.write_text(text, encoding="utf-8")
    typer.echo(
        f"exported {what} of terminal {terminal_id} to {out} "
        f"(public key {public_key_hex(key.public_key())})"
    )


@receipt.command()
def verify(
    file: Annotated[Path, typer.Argument(help="An exported chain or one receipt (JSON).")],
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="The terminal's public key (64 hex digits, or a file holding them); "
            "default: the key in FILE, which proves integrity but not origin.",
        ),
    ] = None,
    qr: Annotated[
        str | None,
        typer.Option(
            "--qr", help="The code read from a paper receipt: check it names a document of FILE."
        ),
    ] = None,
) -> None:
    """Check signatures, hashes, counters and links; name every fault."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        _fail(f"cannot read {file}: {error}")
    key = None if public_key is None else _public_key(public_key)
    try:
        seal = None if qr is None else read_qr_payload(qr)
    except ValueError as error:
        _fail(f"--qr: {error}")
    try:
        if isinstance(data, dict) and "receipts" in data:
            chain = parse_chain(data)
            faults = verify_chain(chain, key)
            checked = f"chain of terminal {chain.terminal}, {len(chain.receipts)} receipts"
            used = key or chain.public_key
            receipts: tuple[SignedDocument, ...] = chain.receipts
        else:
            signed = parse_record(data)
            used = key or _embedded_key(data)
            faults = verify_receipt(signed, used)
            checked = f"receipt {signed.counter} of terminal {signed.terminal}"
            receipts = (signed,)
    except MalformedError as error:
        _fail(f"{file}: {FaultKind.MALFORMED.value}: {error}")
    if seal is not None:
        faults += [f for f in check_seal(seal, receipts, used) if f not in faults]
        checked += f"; the printed code of receipt {seal.counter}"
    _report(checked, used, faults, key is None)


@receipt.command("public-key")
def public_key_command(
    data_dir: DataDir, terminal: TerminalOption = None, db: DbOption = None
) -> None:
    """Print a terminal's receipt public key (64 hex digits), to give to verifiers."""
    terminal_id = terminal or _read_chain(data_dir, db, None)[0]
    typer.echo(public_key_hex(_signing_key(data_dir, terminal_id).public_key()))


@receipt.command()
def audit(
    data_dir: DataDir,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Write the report as JSON.")] = False,
) -> None:
    """Check every receipt issued against its journal entry; name each mismatch."""
    path = data_dir / "terminal.db"
    if db is None and not path.exists():
        _fail(f"no terminal database at {path}")
    engine = open_engine(db or sqlite_url(path))
    try:
        tables = inspect(engine)
        if not tables.has_table(terminal_receipt.name):
            _fail("the terminal database has no receipts table (run the terminal once)")
        has_trail = tables.has_table(terminal_reprint_audit.name)
        with engine.connect() as connection:
            issued = read_issued(connection)
            trail = reprint_summary(connection) if has_trail else None
    finally:
        engine.dispose()
    mismatches = check_receipts(issued)
    originals = sum(1 for r in issued if r.reprint_number == 0)
    attempts = len({r.journal_id for r in issued})
    granted, refused = (0, 0) if trail is None else (trail.granted, trail.refused)
    if as_json:
        report = {
            "ok": not mismatches,
            "receipts": len(issued),
            "originals": originals,
            "copies": len(issued) - originals,
            "attempts": attempts,
            "reprint_requests": {"granted": granted, "refused": refused},
            "mismatches": [
                {
                    "receipt": m.receipt_id,
                    "terminal": m.terminal_id,
                    "voucher": m.voucher,
                    "copy": m.copy,
                    "reprint_number": m.reprint_number,
                    "field": m.field,
                    "expected": m.expected,
                    "found": m.found,
                }
                for m in mismatches
            ],
        }
        typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        typer.echo(
            f"{len(issued)} receipts ({originals} originals, {len(issued) - originals} copies) "
            f"of {attempts} attempts checked against the journal"
        )
        typer.echo(f"reprint requests: {granted} granted, {refused} refused")
        for mismatch in mismatches[:_SHOWN_FAULTS]:
            typer.echo(f"MISMATCH {mismatch}")
        if len(mismatches) > _SHOWN_FAULTS:
            typer.echo(f"... and {len(mismatches) - _SHOWN_FAULTS} more mismatches")
        verdict = f"FAILED: {len(mismatches)} mismatches" if mismatches else "OK"
        typer.echo(f"{verdict}: every receipt against its journal entry")
    if mismatches:
        raise typer.Exit(1)


def _report(checked: str, key: Ed25519PublicKey, faults: list[Fault], embedded: bool) -> None:
    source = "the key in the file" if embedded else "the given key"
    if not faults:
        typer.echo(f"OK: {checked}; signatures verify with {source} ({key_id(key)})")
        return
    for fault in faults[:_SHOWN_FAULTS]:
        typer.echo(f"FAULT {fault}")
    if len(faults) > _SHOWN_FAULTS:
        typer.echo(f"... and {len(faults) - _SHOWN_FAULTS} more faults")
    typer.echo(f"FAILED: {checked}: {len(faults)} faults (key {key_id(key)})")
    raise typer.Exit(1)


def _read_chain(
    data_dir: Path, db: str | None, terminal: str | None
) -> tuple[str, list[SignedDocument]]:
    path = data_dir / "terminal.db"
    if db is None and not path.exists():
        _fail(f"no terminal database at {path}")
    engine = open_engine(db or sqlite_url(path))
    try:
        if not inspect(engine).has_table(terminal_receipt_document.name):
            _fail("the terminal database has no signed receipts (run the terminal once)")
        with engine.connect() as connection:
            if terminal is None:
                terminals = chained_terminals(connection)
                if len(terminals) != 1:
                    named = ", ".join(terminals) or "none"
                    _fail(f"name a terminal with --terminal (terminals with receipts: {named})")
                terminal = terminals[0]
            return terminal, stored_chain(connection, terminal)
    finally:
        engine.dispose()


def _signing_key(data_dir: Path, terminal_id: str) -> Ed25519PrivateKey:
    try:
        return load_signing_key(receipt_key_path(data_dir / "keys", terminal_id))
    except (FileNotFoundError, ValueError) as error:
        _fail(str(error))


def _public_key(value: str) -> Ed25519PublicKey:
    path = Path(value)
    text = path.read_text(encoding="utf-8") if len(value) != 64 and path.is_file() else value
    try:
        return load_public_key(text)
    except ValueError as error:
        _fail(f"--public-key: {error}")


def _embedded_key(data: dict[str, Any]) -> Ed25519PublicKey:
    try:
        return load_public_key(str(data.get("public_key", "")))
    except ValueError:
        raise MalformedError("the receipt carries no public key: pass --public-key") from None


def _fail(message: str) -> NoReturn:
    typer.echo(f"pospay receipt: {message}", err=True)
    raise typer.Exit(2)
