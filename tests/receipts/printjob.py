"""Reading back an ESC/POS print job: its commands, and its lines of text with their style.

Only the commands the renderer is meant to emit are understood; anything else fails
the test, so an unexpected command cannot hide inside the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENCODING = "gb18030"
GS_SIZE = b"\x1d!"
ESC_BOLD = b"\x1bE"

# Command prefix -> total length in bytes, for every command the renderer emits.
_COMMANDS: dict[bytes, int] = {
    b"\x1b@": 2,  # ESC @      initialise
    b"\x1c&": 2,  # FS &       Chinese mode on
    GS_SIZE: 3,  # GS ! n     character size: 0x00 normal, 0x01 double height
    ESC_BOLD: 3,  # ESC E n    bold off (0) / on (1)
    b"\x1bd": 3,  # ESC d n    print and feed n lines
    b"\x1dV": 3,  # GS V m     cut
}


@dataclass(frozen=True)
class PrintedLine:
    text: str
    size: int  # argument of the last GS ! (0 after initialise)
    bold: bool


@dataclass
class PrintJob:
    commands: list[bytes] = field(default_factory=list)
    lines: list[PrintedLine] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(line.text + "\n" for line in self.lines)


def read_job(data: bytes) -> PrintJob:
    """Split `data` into commands and lines; raise `AssertionError` on an unknown command
    or on text left without a line feed."""
    job = PrintJob()
    size, bold = 0, False
    pending = bytearray()
    pos = 0
    while pos < len(data):
        byte = data[pos]
        if byte in (0x1B, 0x1C, 0x1D):
            prefix = data[pos : pos + 2]
            assert prefix in _COMMANDS, f"unexpected command {prefix!r} at byte {pos}"
            command = data[pos : pos + _COMMANDS[prefix]]
            job.commands.append(command)
            if prefix == GS_SIZE:
                size = command[2]
            elif prefix == ESC_BOLD:
                bold = command[2] == 1
            pos += len(command)
            continue
        if byte == 0x0A:
            job.lines.append(PrintedLine(pending.decode(ENCODING), size, bold))
            pending = bytearray()
        else:
            pending.append(byte)
        pos += 1
    assert not pending, "text after the last line feed is never printed"
    return job
