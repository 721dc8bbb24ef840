"""The sample sale's receipts, signed as the first of a chain (so with their QR code),
byte for byte, against the files under golden/.

A change to any layout, label, width rule or command shows up here as a diff to
review. To regenerate after a deliberate change, run

    POSPAY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/receipts/test_golden.py

then read the new .txt files (they should look like a real bank-card slip) and
commit them together with the change.
"""

from __future__ import annotations

import os
from pathlib import Path

from pospay.receipts import Paper, ReceiptCopy, render_escpos, render_text

from .samples import COPY, PAPER, sealed_receipt_for

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("POSPAY_UPDATE_GOLDEN") == "1"


def check_golden(name: str, produced: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(produced)
    assert path.read_bytes() == produced, f"{name} differs; see this module's docstring"


@PAPER
@COPY
def test_text_matches_golden(paper: Paper, copy: ReceiptCopy) -> None:
    text = render_text(sealed_receipt_for(copy), paper)
    check_golden(f"sale-{paper.name}-{copy.value}.txt", text.encode("utf-8"))


@PAPER
@COPY
def test_escpos_matches_golden(paper: Paper, copy: ReceiptCopy) -> None:
    data = render_escpos(sealed_receipt_for(copy), paper)
    check_golden(f"sale-{paper.name}-{copy.value}.bin", data)
