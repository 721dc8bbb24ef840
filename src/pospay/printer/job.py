"""A print job as a thermal printer understood it: lines of styled text, QR codes, feeds.

The ESC/POS decoder (`escpos_decode`) builds these; the virtual printer writes them as
text and renders them as an image. Text is what the paper shows, one line per LF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Align(IntEnum):
    LEFT = 0
    CENTRE = 1
    RIGHT = 2


@dataclass(frozen=True, slots=True)
class Run:
    """Text printed with one style; `width` and `height` are the GS ! multipliers.
    `chinese`: decoded in Chinese mode, where every non-ASCII character is drawn from
    the double-byte font (two columns wide, even `¥`)."""

    text: str
    bold: bool = False
    width: int = 1
    height: int = 1
    chinese: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    runs: tuple[Run, ...]
    align: Align = Align.LEFT

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR symbol printed with GS ( k: the stored payload, module size in dots and
    error correction level (L, M, Q, H)."""

    payload: bytes
    module: int = 3
    error: str = "L"
    align: Align = Align.LEFT


@dataclass(frozen=True, slots=True)
class Feed:
    """Blank paper fed by ESC d n (lines) or ESC J n (dots)."""

    dots: int


Block = Line | QrCode | Feed

FEED_LINE_DOTS = 30  # the default line spacing, 1/6 inch at 180 dpi as Epson defines it


@dataclass
class DecodedJob:
    """Everything between an initialise or a previous cut and the next cut."""

    blocks: list[Block] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # commands skipped or not understood
    cut: bool = False

    @property
    def lines(self) -> list[Line]:
        return [block for block in self.blocks if isinstance(block, Line)]

    @property
    def text(self) -> str:
        """The printed text, one line per LF, each ending in a newline; paper fed
        between lines shows as empty lines, paper fed before the cut does not."""
        out: list[str] = []
        pending_blank = 0
        for block in self.blocks:
            if isinstance(block, Feed):
                pending_blank += max(1, round(block.dots / FEED_LINE_DOTS))
                continue
            out.extend("\n" * pending_blank)
            pending_blank = 0
            if isinstance(block, Line):
                out.append(block.text + "\n")
        return "".join(out)

    @property
    def qr_payloads(self) -> list[bytes]:
        return [block.payload for block in self.blocks if isinstance(block, QrCode)]

    def transcript(self) -> str:
        """The text with each QR code's payload in its place and the decoder's notes:
        what the virtual printer writes to ``NNNN.txt``."""
        out: list[str] = []
        for block in self.blocks:
            if isinstance(block, Line):
                out.append(block.text + "\n")
            elif isinstance(block, QrCode):
                payload = block.payload.decode("utf-8", errors="backslashreplace")
                out.append(f"[QR {block.error}] {payload}\n")
        if not self.cut:
            out.append("[no cut: the job ended with the connection]\n")
        out.extend(f"[note] {note}\n" for note in self.notes)
        return "".join(out)

    @property
    def empty(self) -> bool:
        return not any(isinstance(block, Line | QrCode) for block in self.blocks)
