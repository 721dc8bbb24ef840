"""`pospay qr check`: what is wrong with a QR payment code, for a cashier.

    pospay qr check PAYLOAD-or-IMAGE [--amount A --currency C] [--json]

An argument naming an existing file is read as an image and its QR code decoded with
zxing-cpp; anything else is the payload itself (an EMVCo merchant-presented payload or a
customer's payment code). The verdict comes from `pospay.qr.diagnosis.check`. Exit 0 only
for a usable code, 1 for a refused or unreadable one, 2 for bad usage.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import zxingcpp
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from pospay.errors import BadInput
from pospay.money import Money
from pospay.qr.diagnosis import Verdict, already_used, check, unreadable
from pospay.qr.emvco import Field
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url
from pospay.terminal.tables import terminal_journal
from pospay.transaction import State, is_final

qr_app = typer.Typer(name="qr", help="QR payment codes: check why one fails.", no_args_is_help=True)

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}


@qr_app.command("check")
def check_command(
    code: Annotated[
        str, typer.Argument(help="The payload as text, or the path of an image of the code.")
    ],
    amount: Annotated[
        str | None,
        typer.Option(help="The sale's amount in major units, e.g. 12.50 (needs --currency)."),
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="The sale's ISO 4217 currency, e.g. CNY.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="A terminal's data directory (terminal.db): a merchant QR whose order that "
            "terminal has ended is refused as already used."
        ),
    ] = None,
) -> None:
    """Say whether a QR code can be used for this sale and, if not, exactly why."""
    sale = _sale(amount, currency)
    path = Path(code)
    if _is_file(path):
        payload, failure = _decode_image(path)
        source = "image"
    elif path.suffix.lower() in _IMAGE_SUFFIXES:
        _usage(f"no such image file: {code}")
    else:
        payload, failure, source = code, None, "payload"
    if payload is None:
        verdict = unreadable(failure or "no QR code found")
    else:
        try:
            verdict = check(payload, amount=sale, currency=currency, now=datetime.now(UTC))
        except BadInput as error:
            _usage(str(error))
        if data_dir is not None:
            verdict = _against_journal(verdict, data_dir)
    _show(verdict, source, as_json)
    raise typer.Exit(0 if verdict.usable else 1)


def _against_journal(verdict: Verdict, data_dir: Path) -> Verdict:
    """`verdict`, or "already used" when the terminal's journal has ended its order."""
    reference = verdict.summary.get("reference")
    database = data_dir / "terminal.db"
    if not verdict.usable or reference is None:
        return verdict
    if not database.is_file():
        _usage(f"no terminal journal at {database}")
    engine = open_engine(sqlite_url(database))
    try:
        with engine.connect() as connection:
            row = terminal_journal.c
            found = connection.execute(
                select(row.voucher, row.state).where(row.wallet_order == reference)
            ).first()
    finally:
        engine.dispose()
    if found is None or not is_final(State(found.state)):
        return verdict
    return already_used(verdict, found.voucher, found.state)


def _is_file(path: Path) -> bool:
    """Whether `path` names a file; a text no file system takes for a name (too long,
    a NUL in it) is a payload, not a missing image."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _sale(amount: str | None, currency: str | None) -> Money | None:
    if currency is not None:
        try:
            Money(0, currency)
        except BadInput as error:
            _usage(f"--currency: {error}")
    if amount is None:
        return None
    if currency is None:
        _usage("--amount needs --currency (the amount is read in that currency's decimals)")
    try:
        sale = Money.parse(amount.strip(), currency)
    except BadInput as error:
        _usage(f"--amount: {error}")
    if sale.minor <= 0:
        _usage(f"--amount must be positive, not {amount}")
    return sale


def _decode_image(path: Path) -> tuple[str | None, str | None]:
    """The QR text in the image, or None and why not."""
    try:
        with Image.open(path) as image:
            image.load()
            found = zxingcpp.read_barcodes(image)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        return None, f"not a readable image: {error}"
    texts = [
        barcode.text
        for barcode in found
        if barcode.format == zxingcpp.BarcodeFormat.QRCode and barcode.valid and barcode.text
    ]
    if not texts:
        return None, "no QR code could be decoded"
    if len(texts) > 1:
        return None, f"{len(texts)} QR codes in the image; show one at a time"
    return texts[0], None


def _show(verdict: Verdict, source: str, as_json: bool) -> None:
    if as_json:
        document = {
            "kind": str(verdict.kind),
            "usable": verdict.usable,
            "source": source,
            "message": {"zh": verdict.message_zh, "en": verdict.message_en},
            "details": verdict.details,
            "notes": [
                {"kind": str(n.kind), "zh": n.message_zh, "en": n.message_en} for n in verdict.notes
            ],
            "fields": verdict.summary,
            "tlv": [_field_json(f) for f in verdict.fields],
        }
        typer.echo(json.dumps(document, ensure_ascii=False, indent=1))
        return
    typer.echo(f"{verdict.kind}: {verdict.message_zh}")
    typer.echo(f"{' ' * len(verdict.kind)}  {verdict.message_en}")
    for note in verdict.notes:
        label = f"  note {note.kind}: "
        typer.echo(f"{label}{note.message_zh}\n{' ' * len(label)}{note.message_en}")
    for name, value in (verdict.details | verdict.summary).items():
        typer.echo(f"  {name}: {value}")


def _field_json(field: Field) -> dict[str, Any]:
    document: dict[str, Any] = {"tag": field.tag, "value": field.value}
    if field.children:
        document["children"] = [_field_json(child) for child in field.children]
    return document


def _usage(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
