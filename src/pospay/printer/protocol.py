"""The printer seam."""

from __future__ import annotations

from typing import Protocol


class ReceiptPrinter(Protocol):
    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        """Print one job; raise `PrinterFault` if it could not be printed."""
        ...
