"""Column counts written from their definitions, independently of pospay.receipts.columns,
so that a mistake there cannot vouch for itself in the tests that use these."""

from __future__ import annotations

import unicodedata


def screen_columns(line: str) -> int:
    """Wide and full-width characters take 2 columns, combining marks 0, the rest 1."""
    total = 0
    for char in line:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def printer_columns(line: str) -> int:
    """In Chinese mode a printer draws every non-ASCII character 24 dots (2 columns) wide."""
    return sum(1 if ord(char) < 0x80 else 2 for char in line)
