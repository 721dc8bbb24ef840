"""The mark of a copy on a slip that is stored already rendered (the settlement slip).

A receipt copy is marked by its layout (`Value.REPRINT`: "重打印 REPRINT n" under the
copy name). A settlement slip is kept only as the text and ESC/POS job that printed, so
its copy is that job with a bold banner line put in front, inside the same job: after
its ESC @ and FS &, before its first line.
"""

from __future__ import annotations

from pospay.receipts.columns import center, printer_width, text_width
from pospay.receipts.compose import PrintLine
from pospay.receipts.escpos import CHINESE_MODE_ON, INITIALISE, escpos_job
from pospay.receipts.layout import REPRINT_LABEL, Style

_PREFIX = INITIALISE + CHINESE_MODE_ON


def reprint_banner(number: int) -> str:
    """ "重打印 REPRINT 2": the words every copy carries, with its copy number."""
    if isinstance(number, bool) or number < 1:
        raise ValueError(f"a copy number starts at 1, not {number!r}")
    return f"{REPRINT_LABEL.zh} {REPRINT_LABEL.en} {number}"


def mark_copy(text: str, escpos: bytes, number: int) -> tuple[str, bytes]:
    """The stored slip (`text`, `escpos`) as copy `number`: the banner line first."""
    banner = reprint_banner(number)
    width = max((text_width(line) for line in text.splitlines()), default=0)
    marked_text = center(banner, width, text_width) + "\n" + text
    dots_width = max(width, printer_width(banner))
    line = PrintLine(center(banner, dots_width, printer_width), Style.BOLD)
    head = escpos_job([line], cut=False)
    body = escpos[len(_PREFIX) :] if escpos.startswith(_PREFIX) else escpos
    return marked_text, head + body
