"""Reading ESC/POS the way a thermal printer does: bytes in, jobs and status requests out.

No I/O: `EscposDecoder.feed(data)` takes bytes as they arrive (a command may be split
across calls) and returns what they completed, in stream order:

    StatusRequest(n)   DLE EOT n: the printer must answer one status byte (n = 1..4)
    JobDone(job)       GS V (cut) ended a job: its lines of styled text and QR codes

`close()` ends the stream; a job that was never cut is returned with `cut=False`.

Text is every run of bytes >= 0x20: in Chinese mode (FS & on, FS . off) decoded as
GB18030, whose bytes inside a character are never below 0x30, otherwise as code
page 437 (the ESC/POS default). A run is decoded only once the control byte that ends
it has arrived, so a character split between two reads is never mangled.

Understood: ESC @ (initialise), ESC E / ESC G (bold), ESC ! and GS ! / FS ! (size),
ESC a (alignment), LF, ESC d / ESC J (feed), GS ( k with cn = 49 (QR code: model, size,
error correction, store, print), GS V (cut). Every other command in the Epson ESC/POS
reference that this decoder knows is skipped by its documented length (fixed, counted
or NUL-terminated) and noted in the job; a byte that starts no known command is noted
and skipped alone. Nothing raises: any bytes decode to something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pospay.printer.job import Align, DecodedJob, Feed, Line, QrCode, Run

ESC, FS, GS, DLE = 0x1B, 0x1C, 0x1D, 0x10
LF, CR, HT, NUL = 0x0A, 0x0D, 0x09, 0x00

# Commands skipped by a fixed total length (prefix included), per the Epson reference.
_FIXED: dict[bytes, int] = {
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
_NOTED = {b"\x1d/", b"\x1cp", b"\x1c2", b"\x1bV", b"\x1b{", b"\x1dB"}

_ERROR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}
_CODE_TABLES = {0: "cp437", 2: "cp850", 3: "cp860", 16: "cp1252", 19: "cp858"}


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """DLE EOT n: transmit real-time status n (1 printer, 2 offline cause, 3 error
    cause, 4 roll paper sensor)."""

    n: int


@dataclass(frozen=True, slots=True)
class JobDone:
    job: DecodedJob


Event = StatusRequest | JobDone

_NEED_MORE = -1  # a parser's answer when the command is not complete yet


class EscposDecoder:
    def __init__(self, *, chinese_at_power_on: bool = False) -> None:
        self._chinese_default = chinese_at_power_on
        self._buffer = bytearray()
        self._skip = 0  # bytes still to discard of a long command (images)
        self._events: list[Event] = []
        self._offset = 0  # stream offset of _buffer[0], for notes
        self._reset_job()
        self._initialise()

    # -- public --------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Event]:
        """Decode `data`; return the status requests and finished jobs it completed."""
        if self._skip:
            dropped = min(self._skip, len(data))
            self._skip -= dropped
            self._offset += dropped
            data = data[dropped:]
        self._buffer += data
        self._parse(final=False)
        return self._take_events()

    def close(self) -> list[Event]:
        """End of stream: decode what is left; a job with content but no cut ends too."""
        self._parse(final=True)
        if self._buffer:
            self._note(f"incomplete command {bytes(self._buffer[:4]).hex(' ')} at the end")
            self._buffer.clear()
        self._end_line_if_any()
        if not self._job.empty or self._job.notes:
            self._events.append(JobDone(self._job))
            self._reset_job()
        return self._take_events()

    # -- state ---------------------------------------------------------------------

    def _reset_job(self) -> None:
        self._job = DecodedJob()
        self._runs: list[Run] = []

    def _initialise(self) -> None:
        self._chinese = self._chinese_default
        self._bold = False
        self._width = 1
        self._height = 1
        self._align = Align.LEFT
        self._code_table = "cp437"
        self._qr_module = 3
        self._qr_error = "L"
        self._qr_data = b""

    def _take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def _note(self, what: str) -> None:
        self._job.notes.append(what)

    def _end_line_if_any(self) -> None:
        if self._runs:
            self._job.blocks.append(Line(tuple(self._runs), self._align))
            self._runs = []

    def _end_line(self) -> None:
        self._job.blocks.append(Line(tuple(self._runs), self._align))
        self._runs = []

    def _cut(self) -> None:
        self._end_line_if_any()
        self._job.cut = True
        self._events.append(JobDone(self._job))
        self._reset_job()

    # -- parsing -------------------------------------------------------------------

    def _parse(self, *, final: bool) -> None:
        buffer = self._buffer
        pos = 0
        while pos < len(buffer):
            byte = buffer[pos]
            if byte >= 0x20:
                end = pos
                while end < len(buffer) and buffer[end] >= 0x20:
                    end += 1
                if end == len(buffer) and not final:
                    break  # the run may continue in the next read
                self._text(bytes(buffer[pos:end]))
                pos = end
                continue
            used = self._command(buffer, pos)
            if used == _NEED_MORE:
                break
            pos += used
        del buffer[:pos]
        self._offset += pos

    def _text(self, data: bytes) -> None:
        encoding = "gb18030" if self._chinese else self._code_table
        text = data.decode(encoding, errors="replace")
        self._runs.append(Run(text, self._bold, self._width, self._height, self._chinese))

    def _command(self, buffer: bytearray, pos: int) -> int:
        """Act on the command at `pos`; return its length, or _NEED_MORE."""
        byte = buffer[pos]
        if byte == LF:
            self._end_line()
            return 1
        if byte in (CR, NUL, HT):
            return 1
        if byte not in (ESC, FS, GS, DLE):
            self._note(f"control byte 0x{byte:02x} at {self._offset + pos} skipped")
            return 1
        if pos + 1 >= len(buffer):
            return _NEED_MORE
        prefix = bytes(buffer[pos : pos + 2])
        handler = _HANDLERS.get(prefix)
        if handler is not None:
            return handler(self, buffer, pos)
        length = _FIXED.get(prefix)
        if length is not None:
            if pos + length > len(buffer):
                return _NEED_MORE
            if prefix in _NOTED:
                self._note(f"{_name(prefix)} skipped (not rendered)")
            return length
        self._note(f"unknown command {_name(prefix)} at {self._offset + pos} skipped")
        return 2

    def _arg(self, buffer: bytearray, pos: int, count: int) -> bytes | None:
        """The `count` argument bytes after a 2-byte prefix, or None if not here yet."""
        if pos + 2 + count > len(buffer):
            return None
        return bytes(buffer[pos + 2 : pos + 2 + count])

    def _skip_counted(self, buffer: bytearray, pos: int, head: int, body: int, what: str) -> int:
        """Skip a command of `head` bytes followed by `body` bytes of data that may not
        have arrived yet (images): the rest is discarded as it comes."""
        self._note(f"{what} skipped (not rendered)")
        available = len(buffer) - pos
        if head + body <= available:
            return head + body
        self._skip = head + body - available
        return available


def _name(prefix: bytes) -> str:
    names = {ESC: "ESC", FS: "FS", GS: "GS", DLE: "DLE"}
    second = chr(prefix[1]) if 0x21 <= prefix[1] < 0x7F else f"0x{prefix[1]:02x}"
    return f"{names.get(prefix[0], hex(prefix[0]))} {second}"


Handler = Callable[[EscposDecoder, bytearray, int], int]


def _one_arg(action: Callable[[EscposDecoder, int], None]) -> Handler:
    def handle(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:
        arg = decoder._arg(buffer, pos, 1)
        if arg is None:
            return _NEED_MORE
        action(decoder, arg[0])
        return 3

    return handle


def _initialise(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:
    decoder._end_line_if_any()
    decoder._initialise()
    return 2


def _chinese(on: bool) -> Handler:
    def handle(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:
        decoder._chinese = on
        return 2

    return handle


def _set_bold(decoder: EscposDecoder, n: int) -> None:
    decoder._bold = bool(n & 1)


def _set_print_mode(decoder: EscposDecoder, n: int) -> None:  # ESC ! n
    decoder._bold = bool(n & 0x08)
    decoder._height = 2 if n & 0x10 else 1
    decoder._width = 2 if n & 0x20 else 1


def _set_chinese_mode(decoder: EscposDecoder, n: int) -> None:  # FS ! n
    decoder._width = 2 if n & 0x04 else 1
    decoder._height = 2 if n & 0x08 else 1


def _set_size(decoder: EscposDecoder, n: int) -> None:  # GS ! n
    width, height = (n >> 4) + 1, (n & 0x0F) + 1
    if width > 8 or height > 8:
        decoder._note(f"GS ! 0x{n:02x} out of range ignored")
        return
    decoder._width, decoder._height = width, height


def _set_code_table(decoder: EscposDecoder, n: int) -> None:  # ESC t n
    decoder._code_table = _CODE_TABLES.get(n, "cp437")
    if n not in _CODE_TABLES:
        decoder._note(f"ESC t {n}: code table not known, read as code page 437")


def _set_align(decoder: EscposDecoder, n: int) -> None:
    if n in (0, 1, 2, 48, 49, 50):
        decoder._align = Align(n % 48)
    else:
        decoder._note(f"ESC a {n} out of range ignored")


def _feed_lines(decoder: EscposDecoder, n: int) -> None:
    decoder._end_line_if_any()
    if n:
        decoder._job.blocks.append(Feed(n * 30))


def _feed_dots(decoder: EscposDecoder, n: int) -> None:
    decoder._end_line_if_any()
    if n:
        decoder._job.blocks.append(Feed(n))


def _status(decoder: EscposDecoder, n: int) -> None:
    if 1 <= n <= 4:
        decoder._events.append(StatusRequest(n))
    else:
        decoder._note(f"DLE EOT {n} is not a status this printer answers")


def _cut(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:
    mode = decoder._arg(buffer, pos, 1)
    if mode is None:
        return _NEED_MORE
    length = 4 if mode[0] in (65, 66, 97, 98, 103, 104) else 3  # function B/C/D carry n
    if pos + length > len(buffer):
        return _NEED_MORE
    decoder._cut()
    return length


def _partial_cut(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:  # ESC i, ESC m
    decoder._cut()
    return 2


def _bit_image(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:  # ESC * m nL nH d
    head = decoder._arg(buffer, pos, 3)
    if head is None:
        return _NEED_MORE
    m, dots = head[0], head[1] + head[2] * 256
    return decoder._skip_counted(buffer, pos, 5, dots * (3 if m in (32, 33) else 1), "ESC *")


def _raster(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:  # GS v 0 m xL xH yL yH
    head = decoder._arg(buffer, pos, 6)
    if head is None:
        return _NEED_MORE
    body = (head[2] + head[3] * 256) * (head[4] + head[5] * 256)
    return decoder._skip_counted(buffer, pos, 8, body, "GS v 0 raster image")


def _download_image(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:  # GS * x y d
    head = decoder._arg(buffer, pos, 2)
    if head is None:
        return _NEED_MORE
    return decoder._skip_counted(buffer, pos, 4, head[0] * head[1] * 8, "GS * bit image")


def _until_nul(what: str, start: int) -> Handler:
    """Commands whose data ends at a NUL (ESC D tab stops, GS k m = 0..6 barcodes)."""

    def handle(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:
        end = buffer.find(NUL, pos + start)
        if end < 0:
            return _NEED_MORE
        decoder._note(f"{what} skipped")
        return end + 1 - pos

    return handle


def _barcode(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:  # GS k m ...
    head = decoder._arg(buffer, pos, 2)
    if head is None:
        return _NEED_MORE
    m = head[0]
    if m <= 6:
        return _until_nul("GS k barcode", 3)(decoder, buffer, pos)
    length = 4 + head[1]
    if pos + length > len(buffer):
        return _NEED_MORE
    payload = bytes(buffer[pos + 4 : pos + length]).decode("ascii", errors="replace")
    decoder._note(f"GS k barcode {payload!r} not rendered")
    return length


def _gs_paren(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:
    """GS ( X pL pH d1...dp: every function of this family counts its own length."""
    head = decoder._arg(buffer, pos, 3)
    if head is None:
        return _NEED_MORE
    letter, size = head[0], head[1] + head[2] * 256
    if letter != ord("k"):
        return decoder._skip_counted(buffer, pos, 5, size, f"GS ( {chr(letter)}")
    if pos + 5 + size > len(buffer):
        if size > 4096 + 3:
            return decoder._skip_counted(buffer, pos, 5, size, "GS ( k (too long)")
        return _NEED_MORE
    body = bytes(buffer[pos + 5 : pos + 5 + size])
    _symbol(decoder, body)
    return 5 + size


def _symbol(decoder: EscposDecoder, body: bytes) -> None:
    """GS ( k: cn = 49 is the QR code; others (PDF417, MaxiCode...) are noted."""
    if len(body) < 2:
        decoder._note("GS ( k too short")
        return
    cn, fn, args = body[0], body[1], body[2:]
    if cn != 49:
        decoder._note(f"GS ( k symbol cn={cn} fn={fn} not rendered")
        return
    if fn == 67 and args:  # module size in dots
        decoder._qr_module = args[0] if 1 <= args[0] <= 16 else decoder._qr_module
    elif fn == 69 and args:  # error correction level
        decoder._qr_error = _ERROR_LEVELS.get(args[0], decoder._qr_error)
    elif fn == 80 and args:  # store: m = 48, then the data
        decoder._qr_data = bytes(args[1:])
    elif fn == 81:  # print the stored symbol
        decoder._end_line_if_any()
        if decoder._qr_data:
            qr = QrCode(decoder._qr_data, decoder._qr_module, decoder._qr_error, decoder._align)
            decoder._job.blocks.append(qr)
        else:
            decoder._note("GS ( k print with no stored QR data")
    elif fn not in (65, 82):  # 65 model, 82 transmit size: nothing to show
        decoder._note(f"GS ( k QR function {fn} not understood")


def _dle_eot(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:
    arg = decoder._arg(buffer, pos, 1)
    if arg is None:
        return _NEED_MORE
    _status(decoder, arg[0])
    return 3


def _gs_eight(decoder: EscposDecoder, buffer: bytearray, pos: int) -> int:  # GS 8 L p1..p4
    head = decoder._arg(buffer, pos, 5)
    if head is None:
        return _NEED_MORE
    size = int.from_bytes(head[1:5], "little")
    return decoder._skip_counted(buffer, pos, 7, size, "GS 8 L graphics")


_HANDLERS: dict[bytes, Handler] = {
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
