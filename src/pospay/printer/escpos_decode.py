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
and skipped alone. Nothing raises: any bytes decode to something. The commands, what
they do and their lengths, are in `escpos_commands`; this module is the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from pospay.printer.escpos_commands import (
    DLE,
    ESC,
    FIXED,
    FS,
    GS,
    HANDLERS,
    NEED_MORE,
    NOTED,
    Modes,
    name,
)
from pospay.printer.job import Block, DecodedJob, Line, Run

LF, CR, HT, NUL = 0x0A, 0x0D, 0x09, 0x00


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """DLE EOT n: transmit real-time status n (1 printer, 2 offline cause, 3 error
    cause, 4 roll paper sensor)."""

    n: int


@dataclass(frozen=True, slots=True)
class JobDone:
    job: DecodedJob


Event = StatusRequest | JobDone


class EscposDecoder:
    def __init__(self, *, chinese_at_power_on: bool = False) -> None:
        self._chinese_default = chinese_at_power_on
        self._buffer = bytearray()
        self._skip = 0  # bytes still to discard of a long command (images)
        self._events: list[Event] = []
        self._offset = 0  # stream offset of _buffer[0], for notes
        self._reset_job()
        self.initialise()

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
            self.note(f"incomplete command {bytes(self._buffer[:4]).hex(' ')} at the end")
            self._buffer.clear()
        self.end_line_if_any()
        if not self._job.empty or self._job.notes:
            self._events.append(JobDone(self._job))
            self._reset_job()
        return self._take_events()

    # -- what commands do (escpos_commands) ----------------------------------------

    def _reset_job(self) -> None:
        self._job = DecodedJob()
        self._runs: list[Run] = []

    def initialise(self) -> None:
        self.modes = Modes(chinese=self._chinese_default)

    def _take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def note(self, what: str) -> None:
        self._job.notes.append(what)

    def add(self, block: Block) -> None:
        self._job.blocks.append(block)

    def request_status(self, n: int) -> None:
        self._events.append(StatusRequest(n))

    def end_line_if_any(self) -> None:
        if self._runs:
            self.end_line()

    def end_line(self) -> None:
        self._job.blocks.append(Line(tuple(self._runs), self.modes.align))
        self._runs = []

    def cut(self) -> None:
        self.end_line_if_any()
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
            if used == NEED_MORE:
                break
            pos += used
        del buffer[:pos]
        self._offset += pos

    def _text(self, data: bytes) -> None:
        modes = self.modes
        encoding = "gb18030" if modes.chinese else modes.code_table
        text = data.decode(encoding, errors="replace")
        self._runs.append(Run(text, modes.bold, modes.width, modes.height, modes.chinese))

    def _command(self, buffer: bytearray, pos: int) -> int:
        """Act on the command at `pos`; return its length, or NEED_MORE."""
        byte = buffer[pos]
        if byte == LF:
            self.end_line()
            return 1
        if byte in (CR, NUL, HT):
            return 1
        if byte not in (ESC, FS, GS, DLE):
            self.note(f"control byte 0x{byte:02x} at {self._offset + pos} skipped")
            return 1
        if pos + 1 >= len(buffer):
            return NEED_MORE
        prefix = bytes(buffer[pos : pos + 2])
        handler = HANDLERS.get(prefix)
        if handler is not None:
            return handler(self, buffer, pos)
        length = FIXED.get(prefix)
        if length is not None:
            if pos + length > len(buffer):
                return NEED_MORE
            if prefix in NOTED:
                self.note(f"{name(prefix)} skipped (not rendered)")
            return length
        self.note(f"unknown command {name(prefix)} at {self._offset + pos} skipped")
        return 2

    def arg(self, buffer: bytearray, pos: int, count: int) -> bytes | None:
        """The `count` argument bytes after a 2-byte prefix, or None if not here yet."""
        if pos + 2 + count > len(buffer):
            return None
        return bytes(buffer[pos + 2 : pos + 2 + count])

    def skip_counted(self, buffer: bytearray, pos: int, head: int, body: int, what: str) -> int:
        """Skip a command of `head` bytes followed by `body` bytes of data that may not
        have arrived yet (images): the rest is discarded as it comes."""
        self.note(f"{what} skipped (not rendered)")
        available = len(buffer) - pos
        if head + body <= available:
            return head + body
        self._skip = head + body - available
        return available
