"""Receipts as ESC/POS bytes for 58 mm and 80 mm thermal printers in Chinese mode.

Chinese is sent deliberately rather than through python-escpos's `text()`, whose
"magic" encoder picks a code page per character and mangles mixed lines such as
``收银小票 ¥12.50`` and full-width punctuation. Instead the job is:

    ESC @            initialise the printer
    FS &             Chinese (double-byte) character mode on
    per line:        style commands when the style changes (GS ! size, ESC E bold),
                     then the text in GB18030 and LF
    a QR line:       ESC a 1 (centre), the code natively (GS ( k: model 2, module
                     size 4 dots, error correction M, store, print), LF, ESC a 0
    ESC d 6, GS V 0  feed and cut (python-escpos `cut()`)

GB18030 never puts a byte below 0x30 inside a character, so text bytes cannot be
mistaken for commands. Size is set with GS ! because, unlike ESC !, it applies to
Chinese characters as well. The same receipt always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pospay.receipts.columns import printer_width
from pospay.receipts.compose import PrintLine, compose
from pospay.receipts.layout import SALE_SLIP, Layout, Paper, Style
from pospay.receipts.model import Receipt

INITIALISE = b"\x1b@"  # ESC @
CHINESE_MODE_ON = b"\x1c&"  # FS &
ENCODING = "gb18030"
_CENTRE = b"\x1ba\x01"  # ESC a 1
_LEFT = b"\x1ba\x00"  # ESC a 0
_QR_MODULE_DOTS = 4  # the ~180-character code is version 9 or 10 (<= 57 modules, 228 dots)

# Arguments of python-escpos `set()` per style; double height only, so columns stay put.
_STYLE_SETTINGS: dict[Style, dict[str, Any]] = {
    Style.NORMAL: {"bold": False, "custom_size": True, "width": 1, "height": 1},
    Style.BOLD: {"bold": True, "custom_size": True, "width": 1, "height": 1},
    Style.LARGE: {"bold": True, "custom_size": True, "width": 1, "height": 2},
}


def render_escpos(receipt: Receipt, paper: Paper, *, layout: Layout = SALE_SLIP) -> bytes:
    """The print job for `receipt` on `paper`: initialise, Chinese mode, lines, cut."""
    return escpos_job(compose(receipt, paper, printer_width, layout))


def escpos_job(lines: Iterable[PrintLine], *, cut: bool = True) -> bytes:
    """The print job for lines already laid out with `printer_width` (any slip);
    `cut` False leaves out the feed and cut, for a job that goes on."""
    # Imported here, not at the top: importing python-escpos calls logging.basicConfig()
    # and creates a temporary directory, which `import pospay.receipts` must not do
    # (a CLI that configures logging after importing us would be silently ignored).
    from escpos.constants import QR_ECLEVEL_M
    from escpos.printer import Dummy

    printer = Dummy()
    printer._raw(INITIALISE)
    printer._raw(CHINESE_MODE_ON)
    style = Style.NORMAL  # what ESC @ leaves
    for line in lines:
        if line.qr is not None:
            printer._raw(_CENTRE)
            printer.qr(line.qr, ec=QR_ECLEVEL_M, size=_QR_MODULE_DOTS, native=True)
            printer._raw(b"\n" + _LEFT)
            continue
        if line.style is not style:
            printer.set(**_STYLE_SETTINGS[line.style])
            style = line.style
        printer._raw(line.text.encode(ENCODING) + b"\n")
    if style is not Style.NORMAL:
        printer.set(**_STYLE_SETTINGS[Style.NORMAL])
    if cut:
        printer.cut()
    output: bytes = printer.output
    return output
