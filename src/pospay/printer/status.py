"""Real-time status (DLE EOT n) as the Epson ESC/POS reference defines it, both ways.

Every status byte has bit 1 and bit 4 set and bits 0 and 7 clear (0x12 when all is
well); the other bits, per n:

    n = 1 printer          bit 3 offline
    n = 2 offline cause    bit 2 cover open, bit 5 printing stopped by paper end,
                           bit 6 error
    n = 3 error cause      bit 3 autocutter error, bit 5 unrecoverable error,
                           bit 6 automatically recoverable error
    n = 4 roll paper       bits 2-3 near end, bits 5-6 paper end

`PrinterState.status_byte(n)` is what the virtual printer answers; `fault_reason`
reads the four answers of a real (or virtual) printer back into the `PrinterFault`
reason the print queue records.
"""

from __future__ import annotations

from dataclasses import dataclass

FIXED = 0x12  # bits 1 and 4 on, 0 and 7 off
FIXED_MASK = 0x93

OFFLINE = 0x08  # n = 1
COVER_OPEN = 0x04  # n = 2
PAPER_END_STOP = 0x20  # n = 2
ERROR = 0x40  # n = 2
UNRECOVERABLE = 0x20  # n = 3
NEAR_END = 0x0C  # n = 4
PAPER_END = 0x60  # n = 4

# The faults a simulated printer can be put in; all but near_end stop printing and are
# the `PrinterFault.reason` that `fault_reason` reads back.
FAULTS = ("paper_out", "near_end", "cover_open", "jam", "offline")


@dataclass
class PrinterState:
    """A simulated printer's sensors. `near_end` alone still prints."""

    paper_out: bool = False
    near_end: bool = False
    cover_open: bool = False
    jam: bool = False  # unrecoverable error: needs someone to clear it
    offline: bool = False  # taken off line (panel button, or a fault we do not model)

    def set(self, fault: str, on: bool = True) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown printer fault {fault!r}; one of {', '.join(FAULTS)}")
        setattr(self, fault, on)

    def clear(self) -> None:
        for fault in FAULTS:
            setattr(self, fault, False)

    @property
    def faults(self) -> list[str]:
        return [fault for fault in FAULTS if getattr(self, fault)]

    @property
    def can_print(self) -> bool:
        return not (self.paper_out or self.cover_open or self.jam or self.offline)

    def status_byte(self, n: int) -> int:
        if n == 1:
            return FIXED | (0 if self.can_print else OFFLINE)
        if n == 2:
            return (
                FIXED
                | (COVER_OPEN if self.cover_open else 0)
                | (PAPER_END_STOP if self.paper_out else 0)
                | (ERROR if self.jam else 0)
            )
        if n == 3:
            return FIXED | (UNRECOVERABLE if self.jam else 0)
        if n == 4:
            return (
                FIXED
                | (NEAR_END if self.near_end or self.paper_out else 0)
                | (PAPER_END if self.paper_out else 0)
            )
        raise ValueError(f"DLE EOT {n}: n must be 1 to 4")


def is_status_byte(byte: int) -> bool:
    return byte & FIXED_MASK == FIXED


def fault_reason(printer: int, offline_cause: int, error_cause: int, paper: int) -> str | None:
    """The reason a printer with these four status bytes (n = 1..4) cannot print, or
    None if it can. The most specific cause wins: paper out, cover open, jam, offline."""
    if paper & PAPER_END == PAPER_END or offline_cause & PAPER_END_STOP:
        return "paper_out"
    if offline_cause & COVER_OPEN:
        return "cover_open"
    if error_cause & UNRECOVERABLE or offline_cause & ERROR:
        return "jam"
    if printer & OFFLINE:
        return "offline"
    return None
