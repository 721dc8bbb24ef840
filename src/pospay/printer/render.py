"""A decoded job drawn as a thermal printer prints it: a PNG 384 (58 mm) or 576 (80 mm)
dots wide.

Characters sit in the printer's cells: 12 x 24 dots for a single-byte character
(font A), 24 x 24 for a Chinese one, each multiplied by the GS ! width and height,
30 dots per line at normal height, so the columns line up as on paper. Bold is
drawn twice, one dot apart (how a printer emphasises). QR codes are drawn by segno at
the module size the job asked for, with the four-module quiet zone.

Glyphs come from Noto Sans Mono CJK SC, installed from PyPI by the
``noto-cjk-sans-otc`` package (SIL Open Font License 1.1); without it rendering
raises `FontMissing` naming the package.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from pospay.errors import FontMissing
from pospay.printer.job import Align, DecodedJob, Feed, Line, QrCode

FONT_PACKAGE = "noto-cjk-sans-otc"
FONT_FILE = "NotoSansCJK-Regular.ttc"
FONT_FACE = "Noto Sans Mono CJK SC"

CELL = 12  # dots per column of font A
GLYPH = 24  # dots of a character's height (and a Chinese character's width)
LINE = 30  # dots per line at normal height
MARGIN = 8  # dots of paper above and below
BASELINE = 21  # in a 24-dot cell: room for descenders below

Font = ImageFont.FreeTypeFont


def font_path() -> Path:
    """The CJK font file, or `FontMissing` if its package is not installed."""
    try:
        path = Path(str(resources.files("noto_cjk_sans_otc").joinpath(FONT_FILE)))
    except ModuleNotFoundError:
        raise FontMissing(FONT_PACKAGE, FONT_FACE) from None
    if not path.is_file():
        raise FontMissing(FONT_PACKAGE, FONT_FACE)
    return path


@cache
def _font() -> Font:
    path = str(font_path())
    for index in range(16):
        try:
            font = ImageFont.truetype(path, GLYPH, index=index)
        except OSError:
            break
        if font.getname()[0] == FONT_FACE:
            return font
    raise FontMissing(FONT_PACKAGE, FONT_FACE)


def render_png(job: DecodedJob, dots: int, path: Path) -> None:
    """Draw `job` on paper `dots` wide (384 or 576) and save it as a PNG at `path`."""
    image = render(job, dots)
    image.save(path, format="PNG", optimize=True)


def render(job: DecodedJob, dots: int) -> Image.Image:
    _font()  # FontMissing before any drawing
    height = MARGIN * 2 + sum(_block_height(block) for block in job.blocks)
    image = Image.new("L", (dots, max(height, LINE)), 255)
    y = MARGIN
    for block in job.blocks:
        if isinstance(block, Line):
            _draw_line(image, block, y, dots)
        elif isinstance(block, QrCode):
            _draw_qr(image, block, y, dots)
        y += _block_height(block)
    return image


def _block_height(block: Line | QrCode | Feed) -> int:
    if isinstance(block, Feed):
        return block.dots
    if isinstance(block, QrCode):
        return _qr_size(block) + LINE // 2
    tallest = max((run.height for run in block.runs), default=1)
    return LINE + GLYPH * (tallest - 1)


def _columns(char: str, chinese: bool) -> int:
    if chinese:
        return 1 if char.isascii() else 2
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _draw_line(image: Image.Image, line: Line, y: int, dots: int) -> None:
    cells = [
        (char, _columns(char, run.chinese) * CELL, run.bold, run.width, run.height)
        for run in line.runs
        for char in run.text
    ]
    width = sum(cell_width * w for _, cell_width, _, w, _ in cells)
    tallest = max((run.height for run in line.runs), default=1)
    x = {Align.LEFT: 0, Align.CENTRE: (dots - width) // 2, Align.RIGHT: dots - width}[line.align]
    x = max(x, 0)
    for char, cell_width, bold, w, h in cells:
        if x + cell_width * w > dots:
            break  # a real printer wraps; our layouts never reach the edge
        if not char.isspace():
            glyph = _glyph(char, cell_width, bold)
            if (w, h) != (1, 1):
                glyph = glyph.resize((cell_width * w, GLYPH * h), Image.Resampling.NEAREST)
            baseline = y + GLYPH * (tallest - h)
            image.paste(0, (x, baseline), glyph)
        x += cell_width * w


@cache
def _glyph(char: str, cell_width: int, bold: bool) -> Image.Image:
    """A mask of `char` in its cell (255 where ink goes)."""
    font = _font()
    mask = Image.new("L", (cell_width, GLYPH), 0)
    draw = ImageDraw.Draw(mask)
    left, _, right, _ = font.getbbox(char)
    x = (cell_width - (right - left)) / 2 - left
    for dx in (0, 1) if bold else (0,):
        draw.text((x + dx, BASELINE), char, font=font, fill=255, anchor="ls")
    return mask.point(lambda value: 255 if value >= 96 else 0)


def _qr_size(qr: QrCode) -> int:
    return _qr_matrix_size(qr) * qr.module


def _qr_matrix_size(qr: QrCode) -> int:
    return len(_qr_rows(qr.payload, qr.error))


@cache
def _qr_rows(payload: bytes, error: str) -> tuple[tuple[bool, ...], ...]:
    import segno

    symbol = segno.make_qr(payload, error=error.lower(), boost_error=False)
    return tuple(tuple(bool(m) for m in row) for row in symbol.matrix_iter(border=4))


def _draw_qr(image: Image.Image, qr: QrCode, y: int, dots: int) -> None:
    size = _qr_size(qr)
    x = {Align.LEFT: 0, Align.CENTRE: (dots - size) // 2, Align.RIGHT: dots - size}[qr.align]
    draw = ImageDraw.Draw(image)
    for row_index, row in enumerate(_qr_rows(qr.payload, qr.error)):
        for col_index, dark in enumerate(row):
            if dark:
                left, top = x + col_index * qr.module, y + row_index * qr.module
                draw.rectangle((left, top, left + qr.module - 1, top + qr.module - 1), fill=0)
