"""Laying a receipt out in lines: a layout, a receipt and a paper width in, lines out.

Both renderers draw the same lines, so the text a screen shows and the paper a
printer cuts agree line for line; they differ only in how they count columns (see
`columns.py`) and in what a `Style` becomes. No line is wider than the paper and none
ends in spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pospay.receipts.columns import Measure, center, spread, wrap
from pospay.receipts.layout import (
    QR_SALE_SLIP,
    SALE_SLIP,
    Element,
    Field,
    Heading,
    Layout,
    Paper,
    Paragraph,
    QrCode,
    Rule,
    Signature,
    Style,
    Value,
)
from pospay.receipts.model import Receipt, ReceiptCopy
from pospay.receipts.values import Text, write_value

# Fewest spaces between a label and a value sharing its line; a value that would come
# closer goes to a line of its own.
_GAP = 2
QR_MARK = "[QR]"
_CLAUSE_END = re.compile(r"(?<=[，。；！？])")


@dataclass(frozen=True, slots=True)
class PrintLine:
    """One line of a receipt. A line with `qr` set stands for a QR code of that payload:
    the ESC/POS renderer prints the code there, the text renderer shows `text` ("[QR]")."""

    text: str
    style: Style = Style.NORMAL
    qr: str | None = None


def compose(
    receipt: Receipt, paper: Paper, measure: Measure, layout: Layout = SALE_SLIP
) -> tuple[PrintLine, ...]:
    """The lines of `receipt` laid out by `layout` on `paper`, columns counted by `measure`."""
    if layout is SALE_SLIP and receipt.wallet is not None:
        layout = QR_SALE_SLIP
    lines: list[PrintLine] = []
    for element in layout:
        lines.extend(_lines(element, receipt, paper.columns, measure))
    return tuple(lines)


def _lines(element: Element, receipt: Receipt, width: int, measure: Measure) -> list[PrintLine]:
    match element:
        case Heading(text=text, style=style):
            content = write_value(text, receipt) if isinstance(text, Value) else text
            texts = [] if content is None else _fit(content, width, measure)
            return [PrintLine(center(t, width, measure), style) for t in texts]
        case Field():
            return _field(element, receipt, width, measure)
        case Rule(char=char):
            return [PrintLine(char * (width // measure(char)))]
        case Paragraph(text=text):
            lines = (*_clauses(text.zh, width, measure), *_clauses(text.en, width, measure))
            return [PrintLine(t) for t in lines]
        case Signature():
            return [PrintLine(t) for t in _signature(element, receipt, width, measure)]
        case QrCode():
            return _qr_code(element, receipt, width, measure)


def _qr_code(element: QrCode, receipt: Receipt, width: int, measure: Measure) -> list[PrintLine]:
    """A blank line, the label, the code, then its payload as text (to type in by hand)."""
    payload = write_value(element.value, receipt)
    if not isinstance(payload, str) or not payload:
        return []
    lines = [PrintLine("")]
    lines += [PrintLine(center(t, width, measure)) for t in _fit(element.label, width, measure)]
    lines.append(PrintLine(center(QR_MARK, width, measure), qr=payload))
    lines += [PrintLine(t) for t in wrap(payload, width, measure)]
    return lines


def _fit(text: Text, width: int, measure: Measure) -> list[str]:
    """A bilingual label on one line if it fits, else Chinese lines then English lines."""
    if isinstance(text, str):
        return wrap(text, width, measure)
    joined = f"{text.zh} {text.en}"
    if measure(joined) <= width:
        return [joined]
    return wrap(text.zh, width, measure) + wrap(text.en, width, measure)


@lru_cache(maxsize=256)  # the paragraphs are the layout's own text: few, and the same
def _clauses(text: str, width: int, measure: Measure) -> tuple[str, ...]:
    """One line if it fits, else each clause on a line of its own (wrapped if need be):
    a sentence broken after its comma reads better than one broken mid-word."""
    if measure(text) <= width:
        return tuple(wrap(text, width, measure))
    return tuple(
        line for clause in _CLAUSE_END.split(text) for line in wrap(clause, width, measure)
    )


def _field(field: Field, receipt: Receipt, width: int, measure: Measure) -> list[PrintLine]:
    value = write_value(field.value, receipt)
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    return list(_labelled(field.label, value, field.style, width, measure))


# Most fields print the same label and value on every receipt of a terminal (merchant,
# terminal, operator, card brand...): their lines are remembered.
@lru_cache(maxsize=4096)
def _labelled(
    label: Text, value: Text, style: Style, width: int, measure: Measure
) -> tuple[PrintLine, ...]:
    texts = _fit(label, width, measure)
    value_lines = _fit(value, width, measure)
    last = texts[-1]
    if len(value_lines) == 1 and measure(last) + _GAP + measure(value_lines[0]) <= width:
        texts[-1] = spread(last, value_lines[0], width, measure)
    else:
        texts += [spread("", line, width, measure) for line in value_lines]
    return tuple(PrintLine(t, style) for t in texts)


def _signature(sign: Signature, receipt: Receipt, width: int, measure: Measure) -> list[str]:
    if receipt.pin_verified:
        return _fit(sign.pin, width, measure)
    if not receipt.signature_required:
        return _fit(sign.waived, width, measure)
    if receipt.copy is not ReceiptCopy.MERCHANT:
        return []
    return _fit(sign.sign, width, measure) + [""] * sign.space_lines + ["_" * width]
