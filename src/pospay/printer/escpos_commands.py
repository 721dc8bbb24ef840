"""The ESC/POS commands the decoder knows: what each does to the printer's modes and
page, or how long it is when it is only skipped (per the Epson ESC/POS reference).

Each handler gets the decoder, the buffer and the command's position, and returns
the command's length in bytes, or `NEED_MORE` when the rest has not arrived yet. The
handlers see the decoder only as a `Decoding`, what a command may do to the job being
decoded, so this file does not import the decoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pospay.printer.job import Align, Block, Feed, QrCode

ESC, FS, GS, DLE = 0x1B, 0x1C, 0x1D, 0x10
NUL = 0x00
NEED_MORE = -1  # a handler's answer when the command is not complete yet


@dataclass
class Modes:
    """What ESC @ resets: the modes text and symbols are printed in."""

    chinese: bool = False
    bold: bool = False
    width: int = 1
    height: int = 1
    align: Align = Align.LEFT
    code_table: str = "cp437"
    qr_module: int = 3
    qr_error: str = "L"
    qr_data: bytes = b""


class Decoding(Protocol):
    """What a command handler may do to the decoder running it (`escpos_decode`)."""

    modes: Modes

    def initialise(self) -> None: ...
    def note(self, what: str) -> None: ...
    def add(self, block: Block) -> None: ...
    def request_status(self, n: int) -> None: ...
    def end_line_if_any(self) -> None: ...
    def cut(self) -> None: ...
    def arg(self, buffer: bytearray, pos: int, count: int) -> bytes | None: ...
    def skip_counted(self, buffer: bytearray, pos: int, head: int, body: int, what: str) -> int: ...


# Commands skipped by a fixed total length (prefix included), per the Epson reference.
FIXED: dict[bytes, int] = {
    b"\x1b-": 3,  # ESC - n    underline
    b"\x1b2": 2,  # ESC 2      default line spacing
    b"\x1b3": 3,  # ESC 3 n    line spacing
    b"\x1b ": 3,  # ESC SP n   right-side character spacing
    b"\x1b$": 4,  # ESC $ nL nH absolute position
    b"\x1b\\": 4,  # ESC \ nL nH relative position
    b"\x1bM": 3,  # ESC M n    character font
    b"\x1bR": 3,  # ESC R n    international character set
    b"\x1bV": 3,  # ESC V n    90 degree rotation
    b"\x1b{": 3,  # ESC { n    upside-down
    b"\x1b%": 3,  # ESC % n    user-defined characters on/off
    b"\x1bc": 4,  # ESC c 3|4|5 n  paper sensors, panel buttons
    b"\x1bp": 5,  # ESC p m t1 t2  drawer kick pulse
    b"\x1bU": 3,  # ESC U n    unidirectional printing
    b"\x1bL": 2,  # ESC L      page mode
    b"\x1bS": 2,  # ESC S      standard mode
    b"\x1bT": 3,  # ESC T n    page mode direction
    b"\x1bW": 10,  # ESC W ...  page mode print area
    b"\x1br": 3,  # ESC r n    print colour
    b"\x1b=": 3,  # ESC = n    peripheral device
    b"\x1c-": 3,  # FS - n     Chinese underline
    b"\x1cC": 3,  # FS C n     Chinese code system
    b"\x1cS": 4,  # FS S n1 n2 Chinese spacing
    b"\x1cW": 3,  # FS W n     Chinese quadruple size
    b"\x1cp": 4,  # FS p n m   print NV bit image
    b"\x1c2": 76,  # FS 2 c1 c2 + 72 bytes  user-defined Chinese character (24 x 24)
    b"\x1dB": 3,  # GS B n     reverse
    b"\x1db": 3,  # GS b n     smoothing
    b"\x1dL": 4,  # GS L nL nH left margin
    b"\x1dW": 4,  # GS W nL nH print area width
    b"\x1dH": 3,  # GS H n     barcode text position
    b"\x1df": 3,  # GS f n     barcode text font
    b"\x1dh": 3,  # GS h n     barcode height
    b"\x1dw": 3,  # GS w n     barcode width
    b"\x1dr": 3,  # GS r n     transmit status (not answered here)
    b"\x1da": 3,  # GS a n     automatic status back
    b"\x1dI": 3,  # GS I n     printer id
    b"\x1dP": 4,  # GS P x y   motion units
    b"\x1d$": 4,  # GS $ nL nH page mode vertical position
    b"\x1d\\": 4,  # GS \ nL nH page mode relative vertical position
    b"\x1dT": 3,  # GS T n     start of line
    b"\x1d/": 3,  # GS / m     print downloaded bit image
    b"\x1d:": 2,  # GS :       macro definition start/end
    b"\x1d^": 5,  # GS ^ r t m execute macro
    b"\x1dE": 3,  # GS E n     print density (some models)
    b"\x10\x05": 3,  # DLE ENQ n real-time request
    b"\x10\x14": 5,  # DLE DC4 fn a b  real-time pulse / power-off / buffer clear
}

# What a fixed-length skip notes in the job (only commands that change how it looks).
NOTED = {b"\x1d/", b"\x1cp", b"\x1c2", b"\x1bV", b"\x1b{", b"\x1dB"}

_ERROR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}
_CODE_TABLES = {0: "cp437", 2: "cp850", 3: "cp860", 16: "cp1252", 19: "cp858"}


def name(prefix: bytes) -> str:
    names = {ESC: "ESC", FS: "FS", GS: "GS", DLE: "DLE"}
    second = chr(prefix[1]) if 0x21 <= prefix[1] < 0x7F else f"0x{prefix[1]:02x}"
    return f"{names.get(prefix[0], hex(prefix[0]))} {second}"


Handler = Callable[[Decoding, bytearray, int], int]


def _one_arg(action: Callable[[Decoding, int], None]) -> Handler:
    def handle(decoder: Decoding, buffer: bytearray, pos: int) -> int:
        arg = decoder.arg(buffer, pos, 1)
        if arg is None:
            return NEED_MORE
        action(decoder, arg[0])
        return 3

    return handle


def _initialise(decoder: Decoding, buffer: bytearray, pos: int) -> int:
    decoder.end_line_if_any()
    decoder.initialise()
    return 2


def _chinese(on: bool) -> Handler:
    def handle(decoder: Decoding, buffer: bytearray, pos: int) -> int:
        decoder.modes.chinese = on
        return 2

    return handle


def _set_bold(decoder: Decoding, n: int) -> None:
    decoder.modes.bold = bool(n & 1)


def _set_print_mode(decoder: Decoding, n: int) -> None:  # ESC ! n
    decoder.modes.bold = bool(n & 0x08)
    decoder.modes.height = 2 if n & 0x10 else 1
    decoder.modes.width = 2 if n & 0x20 else 1


def _set_chinese_mode(decoder: Decoding, n: int) -> None:  # FS ! n
    decoder.modes.width = 2 if n & 0x04 else 1
    decoder.modes.height = 2 if n & 0x08 else 1


def _set_size(decoder: Decoding, n: int) -> None:  # GS ! n
    width, height = (n >> 4) + 1, (n & 0x0F) + 1
    if width > 8 or height > 8:
        decoder.note(f"GS ! 0x{n:02x} out of range ignored")
        return
    decoder.modes.width, decoder.modes.height = width, height


def _set_code_table(decoder: Decoding, n: int) -> None:  # ESC t n
    decoder.modes.code_table = _CODE_TABLES.get(n, "cp437")
    if n not in _CODE_TABLES:
        decoder.note(f"ESC t {n}: code table not known, read as code page 437")


def _set_align(decoder: Decoding, n: int) -> None:
    if n in (0, 1, 2, 48, 49, 50):
        decoder.modes.align = Align(n % 48)
    else:
        decoder.note(f"ESC a {n} out of range ignored")


def _feed_lines(decoder: Decoding, n: int) -> None:
    decoder.end_line_if_any()
    if n:
        decoder.add(Feed(n * 30))


def _feed_dots(decoder: Decoding, n: int) -> None:
    decoder.end_line_if_any()
    if n:
        decoder.add(Feed(n))


def _status(decoder: Decoding, n: int) -> None:
    if 1 <= n <= 4:
        decoder.request_status(n)
    else:
        decoder.note(f"DLE EOT {n} is not a status this printer answers")


def _cut(decoder: Decoding, buffer: bytearray, pos: int) -> int:
    mode = decoder.arg(buffer, pos, 1)
    if mode is None:
        return NEED_MORE
    length = 4 if mode[0] in (65, 66, 97, 98, 103, 104) else 3  # function B/C/D carry n
    if pos + length > len(buffer):
        return NEED_MORE
    decoder.cut()
    return length


def _partial_cut(decoder: Decoding, buffer: bytearray, pos: int) -> int:  # ESC i, ESC m
    decoder.cut()
    return 2


def _bit_image(decoder: Decoding, buffer: bytearray, pos: int) -> int:  # ESC * m nL nH d
    head = decoder.arg(buffer, pos, 3)
    if head is None:
        return NEED_MORE
    m, dots = head[0], head[1] + head[2] * 256
    return decoder.skip_counted(buffer, pos, 5, dots * (3 if m in (32, 33) else 1), "ESC *")


def _raster(decoder: Decoding, buffer: bytearray, pos: int) -> int:  # GS v 0 m xL xH yL yH
    head = decoder.arg(buffer, pos, 6)
    if head is None:
        return NEED_MORE
    body = (head[2] + head[3] * 256) * (head[4] + head[5] * 256)
    return decoder.skip_counted(buffer, pos, 8, body, "GS v 0 raster image")


def _download_image(decoder: Decoding, buffer: bytearray, pos: int) -> int:  # GS * x y d
    head = decoder.arg(buffer, pos, 2)
    if head is None:
        return NEED_MORE
    return decoder.skip_counted(buffer, pos, 4, head[0] * head[1] * 8, "GS * bit image")


def _until_nul(what: str, start: int) -> Handler:
    """Commands whose data ends at a NUL (ESC D tab stops, GS k m = 0..6 barcodes)."""

    def handle(decoder: Decoding, buffer: bytearray, pos: int) -> int:
        end = buffer.find(NUL, pos + start)
        if end < 0:
            return NEED_MORE
        decoder.note(f"{what} skipped")
        return end + 1 - pos

    return handle


def _barcode(decoder: Decoding, buffer: bytearray, pos: int) -> int:  # GS k m ...
    head = decoder.arg(buffer, pos, 2)
    if head is None:
        return NEED_MORE
    m = head[0]
    if m <= 6:
        return _until_nul("GS k barcode", 3)(decoder, buffer, pos)
    length = 4 + head[1]
    if pos + length > len(buffer):
        return NEED_MORE
    payload = bytes(buffer[pos + 4 : pos + length]).decode("ascii", errors="replace")
    decoder.note(f"GS k barcode {payload!r} not rendered")
    return length


def _gs_paren(decoder: Decoding, buffer: bytearray, pos: int) -> int:
    """GS ( X pL pH d1...dp: every function of this family counts its own length."""
    head = decoder.arg(buffer, pos, 3)
    if head is None:
        return NEED_MORE
    letter, size = head[0], head[1] + head[2] * 256
    if letter != ord("k"):
        return decoder.skip_counted(buffer, pos, 5, size, f"GS ( {chr(letter)}")
    if pos + 5 + size > len(buffer):
        if size > 4096 + 3:
            return decoder.skip_counted(buffer, pos, 5, size, "GS ( k (too long)")
        return NEED_MORE
    body = bytes(buffer[pos + 5 : pos + 5 + size])
    _symbol(decoder, body)
    return 5 + size


def _symbol(decoder: Decoding, body: bytes) -> None:
    """GS ( k: cn = 49 is the QR code; others (PDF417, MaxiCode...) are noted."""
    if len(body) < 2:
        decoder.note("GS ( k too short")
        return
    cn, fn, args = body[0], body[1], body[2:]
    if cn != 49:
        decoder.note(f"GS ( k symbol cn={cn} fn={fn} not rendered")
        return
    if fn == 67 and args:  # module size in dots
        decoder.modes.qr_module = args[0] if 1 <= args[0] <= 16 else decoder.modes.qr_module
    elif fn == 69 and args:  # error correction level
        decoder.modes.qr_error = _ERROR_LEVELS.get(args[0], decoder.modes.qr_error)
    elif fn == 80 and args:  # store: m = 48, then the data
        decoder.modes.qr_data = bytes(args[1:])
    elif fn == 81:  # print the stored symbol
        decoder.end_line_if_any()
        if decoder.modes.qr_data:
            qr = QrCode(
                decoder.modes.qr_data,
                decoder.modes.qr_module,
                decoder.modes.qr_error,
                decoder.modes.align,
            )
            decoder.add(qr)
        else:
            decoder.note("GS ( k print with no stored QR data")
    elif fn not in (65, 82):  # 65 model, 82 transmit size: nothing to show
        decoder.note(f"GS ( k QR function {fn} not understood")


def _dle_eot(decoder: Decoding, buffer: bytearray, pos: int) -> int:
    arg = decoder.arg(buffer, pos, 1)
    if arg is None:
        return NEED_MORE
    _status(decoder, arg[0])
    return 3


def _gs_eight(decoder: Decoding, buffer: bytearray, pos: int) -> int:  # GS 8 L p1..p4
    head = decoder.arg(buffer, pos, 5)
    if head is None:
        return NEED_MORE
    size = int.from_bytes(head[1:5], "little")
    return decoder.skip_counted(buffer, pos, 7, size, "GS 8 L graphics")


HANDLERS: dict[bytes, Handler] = {
    b"\x1b@": _initialise,
    b"\x1bE": _one_arg(_set_bold),
    b"\x1bG": _one_arg(_set_bold),  # double-strike prints like bold
    b"\x1b!": _one_arg(_set_print_mode),
    b"\x1ba": _one_arg(_set_align),
    b"\x1bt": _one_arg(_set_code_table),
    b"\x1bd": _one_arg(_feed_lines),
    b"\x1bJ": _one_arg(_feed_dots),
    b"\x1bi": _partial_cut,
    b"\x1bm": _partial_cut,
    b"\x1b*": _bit_image,
    b"\x1bD": _until_nul("ESC D tab positions", 2),
    b"\x1c&": _chinese(on=True),
    b"\x1c.": _chinese(on=False),
    b"\x1c!": _one_arg(_set_chinese_mode),
    b"\x1d!": _one_arg(_set_size),
    b"\x1dV": _cut,
    b"\x1dv": _raster,
    b"\x1d*": _download_image,
    b"\x1dk": _barcode,
    b"\x1d(": _gs_paren,
    b"\x1d8": _gs_eight,
    b"\x10\x04": _dle_eot,
}
