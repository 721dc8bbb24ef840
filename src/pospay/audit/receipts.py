"""Receipts against the journal: every receipt a terminal issued, checked against the
journal entry of its attempt and against its own signed document.

For each stored receipt (`terminal_receipt`, originals and copies):

- ``outcome``: receipts exist only for approved money-moving attempts (approved once:
  later voided, refunded or settled is fine);
- ``copy``: a merchant or a customer copy;
- ``marking``: an original carries no reprint mark; copy n carries "重打印" and
  "REPRINT n", in its text and in its ESC/POS job;
- ``reprint_number``: the copies of one receipt are numbered 1..n without gaps, and
  a copy has an original;
- ``amount``, ``card``, ``voucher``: the text and the ESC/POS job show the journal's
  amount, card number (masked for the copy) and voucher number;
- ``document``: the signed document exists, its hash is that of its content, and each
  of its fields equals the journal's (``document.amount_minor``, ...) and the row's
  copy and reprint number.

`check_receipts` is pure; `read_issued` and `reprint_summary` read a terminal database.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select

from pospay.money import Money, format_money
from pospay.receipts.escpos import ENCODING
from pospay.receipts.layout import REPRINT_LABEL
from pospay.receipts.masking import customer_display
from pospay.receipts.signing import document_hash
from pospay.terminal.tables import (
    terminal_journal,
    terminal_receipt,
    terminal_receipt_document,
    terminal_reprint_audit,
)
from pospay.transaction import Kind, State

# States of an attempt that was approved once, and so issued its receipts.
_WAS_APPROVED = frozenset({State.APPROVED, State.SETTLED, State.VOIDED, State.REFUNDED})
_COPIES = ("customer", "merchant")


@dataclass(frozen=True, slots=True)
class IssuedReceipt:
    """One stored receipt, with the journal entry of its attempt and its document."""

    receipt_id: int
    copy: str
    reprint_number: int
    text: str
    escpos: bytes
    document: Mapping[str, Any] | None
    document_hash: str | None
    journal_id: int
    terminal_id: str
    kind: str
    method: str
    state: str
    amount_minor: int
    currency: str
    pan_masked: str
    brand: str
    batch: str
    voucher: str
    stan: str
    rrn: str | None
    auth_code: str | None


@dataclass(frozen=True, slots=True)
class ReceiptMismatch:
    receipt_id: int
    terminal_id: str
    voucher: str
    copy: str
    reprint_number: int
    field: str
    expected: str
    found: str

    def __str__(self) -> str:
        which = "original" if self.reprint_number == 0 else f"copy {self.reprint_number}"
        return (
            f"receipt {self.receipt_id} (terminal {self.terminal_id} voucher {self.voucher} "
            f"{self.copy} {which}): {self.field}: expected {self.expected}, found {self.found}"
        )


@dataclass(frozen=True, slots=True)
class ReprintSummary:
    granted: int
    refused: int


def check_receipts(issued: Sequence[IssuedReceipt]) -> list[ReceiptMismatch]:
    """Every mismatch between the receipts and their journal entries, receipt by receipt."""
    mismatches: list[ReceiptMismatch] = []
    for receipt in issued:
        mismatches += _check_one(receipt)
    mismatches += _check_numbering(issued)
    return sorted(mismatches, key=lambda m: (m.receipt_id, m.field))


def _check_one(r: IssuedReceipt) -> Iterable[ReceiptMismatch]:
    def mismatch(field: str, expected: object, found: object) -> ReceiptMismatch:
        return ReceiptMismatch(
            r.receipt_id,
            r.terminal_id,
            r.voucher,
            r.copy,
            r.reprint_number,
            field,
            str(expected),
            str(found),
        )

    if State(r.state) not in _WAS_APPROVED or not Kind(r.kind).moves_money:
        yield mismatch("outcome", "an approved money-moving attempt", f"{r.kind} {r.state}")
    if r.copy not in _COPIES:
        yield mismatch("copy", "customer or merchant", r.copy)
    marked = _marks(r)
    wanted = "unmarked original" if r.reprint_number == 0 else f"marked copy {r.reprint_number}"
    if marked != (r.reprint_number != 0):
        yield mismatch("marking", wanted, "marked" if marked else "unmarked")
    amount = format_money(Money(r.amount_minor, r.currency))
    card = _card_display(r)
    for field, value, label in (("amount", amount, "金额"), ("card", card, "卡号")):
        if not _shows(r, value):
            yield mismatch(field, value, _line_value(r.text, label))
    if not _shows(r, r.voucher):
        yield mismatch("voucher", r.voucher, "absent")
    yield from _check_document(r, card, mismatch)


def _check_document(r: IssuedReceipt, card: str, mismatch: Any) -> Iterable[ReceiptMismatch]:
    if r.document is None:
        yield mismatch("document", "a signed document", "none")
        return
    if r.document_hash != document_hash(r.document):
        yield mismatch("document.hash", "the hash of its content", "another hash")
    expected: dict[str, object] = {
        "terminal": r.terminal_id,
        "copy": r.copy,
        "reprint": r.reprint_number,
        "type": r.kind,
        "method": r.method,
        "card": card,
        "brand": r.brand,
        "batch": r.batch,
        "voucher": r.voucher,
        "stan": r.stan,
        "auth_code": r.auth_code,
        "rrn": r.rrn,
        "amount_minor": r.amount_minor,
        "currency": r.currency,
    }
    for name, value in expected.items():
        found = r.document.get(name)
        if found != value:
            yield mismatch(f"document.{name}", value, found)


def _check_numbering(issued: Sequence[IssuedReceipt]) -> Iterable[ReceiptMismatch]:
    """Copies of each (attempt, copy) numbered 1..n, and only where an original exists."""
    groups: dict[tuple[int, str], list[IssuedReceipt]] = defaultdict(list)
    for receipt in issued:
        groups[(receipt.journal_id, receipt.copy)].append(receipt)
    for group in groups.values():
        numbers = sorted(r.reprint_number for r in group if r.reprint_number > 0)
        if not numbers:
            continue
        first = min((r for r in group if r.reprint_number > 0), key=lambda r: r.reprint_number)
        found = ", ".join(map(str, numbers))
        if numbers != list(range(1, len(numbers) + 1)):
            yield ReceiptMismatch(
                first.receipt_id,
                first.terminal_id,
                first.voucher,
                first.copy,
                first.reprint_number,
                "reprint_number",
                f"1..{len(numbers)}",
                found,
            )
        if not any(r.reprint_number == 0 for r in group):
            yield ReceiptMismatch(
                first.receipt_id,
                first.terminal_id,
                first.voucher,
                first.copy,
                first.reprint_number,
                "original",
                "an original before its copies",
                "none",
            )


def _card_display(r: IssuedReceipt) -> str:
    """The card number as this copy must show it (the journal's form if that is odd)."""
    if r.copy != "customer":
        return r.pan_masked
    try:
        return customer_display(r.pan_masked)
    except ValueError:
        return r.pan_masked


def _marks(r: IssuedReceipt) -> bool:
    """Whether the receipt carries a reprint mark, and the right number if a copy: in
    its text and in its print job alike (one without the other is a mismatch too)."""
    zh = REPRINT_LABEL.zh
    if r.reprint_number == 0:
        return zh in r.text or REPRINT_LABEL.en in r.text or zh.encode(ENCODING) in r.escpos
    words = re.compile(rf"{REPRINT_LABEL.en} {r.reprint_number}(?!\d)")
    return (
        zh in r.text
        and words.search(r.text) is not None
        and zh.encode(ENCODING) in r.escpos
        and words.search(r.escpos.decode(ENCODING, errors="replace")) is not None
    )


def _shows(r: IssuedReceipt, value: str) -> bool:
    return value in r.text and value.encode(ENCODING) in r.escpos


def _line_value(text: str, label: str) -> str:
    """The value printed on the line of `label`, for the report: its last word."""
    for line in text.splitlines():
        if label in line:
            return line.split()[-1]
    return "absent"


def read_issued(connection: Connection) -> list[IssuedReceipt]:
    """Every stored receipt of the database, with its journal entry and document."""
    r, j, d = terminal_receipt.c, terminal_journal.c, terminal_receipt_document.c
    rows = connection.execute(
        select(
            r.id,
            r.copy,
            r.reprint_number,
            r.text,
            r.escpos,
            d.document,
            d.hash,
            j.id.label("journal_id"),
            j.terminal_id,
            j.kind,
            j.method,
            j.state,
            j.amount_minor,
            j.currency,
            j.pan_masked,
            j.brand,
            j.batch,
            j.voucher,
            j.stan,
            j.rrn,
            j.auth_code,
        )
        .join(terminal_journal, j.id == r.journal_id)
        .outerjoin(terminal_receipt_document, d.receipt_id == r.id)
        .order_by(r.id)
    )
    return [
        IssuedReceipt(
            receipt_id=row.id,
            copy=row.copy,
            reprint_number=row.reprint_number,
            text=row.text,
            escpos=bytes(row.escpos),
            document=None if row.document is None else json.loads(row.document),
            document_hash=row.hash,
            journal_id=row.journal_id,
            terminal_id=row.terminal_id,
            kind=row.kind,
            method=row.method,
            state=row.state,
            amount_minor=row.amount_minor,
            currency=row.currency,
            pan_masked=row.pan_masked,
            brand=row.brand,
            batch=row.batch,
            voucher=row.voucher,
            stan=row.stan,
            rrn=row.rrn,
            auth_code=row.auth_code,
        )
        for row in rows
    ]


def reprint_summary(connection: Connection) -> ReprintSummary:
    """How many reprint requests were granted and refused (`terminal_reprint_audit`)."""
    a = terminal_reprint_audit.c
    rows = connection.execute(select(a.outcome, func.count()).group_by(a.outcome))
    counts: dict[str, int] = {str(outcome): int(count) for outcome, count in rows}
    return ReprintSummary(int(counts.get("granted", 0)), int(counts.get("refused", 0)))


def receipt_census(connection: Connection) -> dict[str, int]:
    """How many receipts were issued: originals (one per copy of each approved
    money-moving attempt, as invariant 4 demands), reprints a supervisor allowed, and
    copies the print queue printed again, marked, after a crash cut a print off."""
    r = terminal_receipt.c
    stored, originals, interrupted = connection.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((r.reprint_number == 0, 1), else_=0)), 0),
            func.coalesce(func.sum(r.print_interruptions), 0),
        ).select_from(terminal_receipt)
    ).one()
    return {
        "originals": int(originals),
        "reprints": int(stored) - int(originals),
        "copies_after_interrupted_prints": int(interrupted),
    }
