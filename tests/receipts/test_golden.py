"""Golden receipts: every transaction type that prints receipts, by every way the card was
read, on 58 and 80 mm paper, merchant and customer copy, signed as the first of a chain
(so with their QR code); and the settlement and reversal-failure slips. The cases are in
`golden_cases.py`; the files, under golden/, are named

    <kind>-<method>-<paper>-<copy>.bin / .txt    (follow-ups: <kind>-by-reference-...;
                                                  prepaid cards: prepaid-<kind>-...)
    settlement-<paper>.bin / .txt, settlement-upload-<paper>..., reversal-failure-<paper>...

Each case is checked three ways: the ESC/POS job byte for byte against its .bin, the
text rendering byte for byte against its .txt, and the job decoded by the virtual
printer's decoder (`pospay.printer.escpos_decode`) against the lines we meant to print
(text, styles, the QR payload, the cut).

A change to any layout, label, width rule or command shows up here as a diff to review.
Files are never rewritten silently: to regenerate after a deliberate change, run

    POSPAY_UPDATE_GOLDEN=1 .venv/bin/pytest -p no:cacheprovider tests/receipts/test_golden.py

then read the new .txt files (they should look like a real bank-card slip), run the
tests again without the variable, and commit the files together with the change. A
golden file that no case produces fails `test_no_stray_golden_files`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from pospay.printer.escpos_decode import EscposDecoder, JobDone
from pospay.printer.job import DecodedJob, Line, QrCode
from pospay.receipts import PAPERS, Paper, ReceiptCopy, render_escpos, render_text
from pospay.receipts.columns import printer_width
from pospay.receipts.compose import PrintLine, compose
from pospay.receipts.layout import Style
from pospay.receipts.reversal_failure import render_reversal_failure, reversal_failure_lines
from pospay.receipts.settlement import render_settlement, settlement_lines

from .golden_cases import (
    REVERSAL_FAILURE,
    SALE_CASES,
    SETTLEMENT,
    SETTLEMENT_AFTER_UPLOAD,
    SaleCase,
    sealed,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("POSPAY_UPDATE_GOLDEN") == "1"

PAPER = pytest.mark.parametrize("paper", list(PAPERS.values()), ids=list(PAPERS))
COPY = pytest.mark.parametrize("copy", list(ReceiptCopy), ids=[c.value for c in ReceiptCopy])
CASE = pytest.mark.parametrize("case", SALE_CASES, ids=[case.name for case in SALE_CASES])
SLIPS = {
    "settlement": lambda paper: render_settlement(SETTLEMENT, paper),
    "settlement-upload": lambda paper: render_settlement(SETTLEMENT_AFTER_UPLOAD, paper),
    "reversal-failure": lambda paper: render_reversal_failure(REVERSAL_FAILURE, paper),
}
SLIP_LINES = {
    "settlement": lambda paper: settlement_lines(SETTLEMENT, paper, printer_width),
    "settlement-upload": lambda paper: settlement_lines(
        SETTLEMENT_AFTER_UPLOAD, paper, printer_width
    ),
    "reversal-failure": lambda paper: reversal_failure_lines(
        REVERSAL_FAILURE, paper, printer_width
    ),
}


def check_golden(name: str, produced: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(produced)
    assert path.exists(), f"{name} is missing; see this module's docstring"
    assert path.read_bytes() == produced, f"{name} differs; see this module's docstring"


def decoded(data: bytes) -> DecodedJob:
    """The one job the virtual printer's decoder reads from `data`."""
    decoder = EscposDecoder()
    events = decoder.feed(data) + decoder.close()
    jobs = [event.job for event in events if isinstance(event, JobDone)]
    assert len(jobs) == 1, f"{len(jobs)} jobs in one receipt"
    return jobs[0]


def check_decoded(data: bytes, intended: Sequence[PrintLine]) -> None:
    """The printer reads back exactly the lines, styles and QR codes we meant, then a cut.

    A QR line prints as the code followed by an empty line (its line feed)."""
    job = decoded(data)
    assert job.cut
    assert job.notes == []
    read: list[tuple[str, str]] = []
    for block in job.blocks:
        if isinstance(block, QrCode):
            assert block.error == "M"
            read.append(("qr", block.payload.decode("ascii")))
        elif isinstance(block, Line):
            read.append(("line", block.text))
    expected: list[tuple[str, str]] = []
    for meant in intended:
        expected += [("line", meant.text)] if meant.qr is None else [("qr", meant.qr), ("line", "")]
    assert read == expected
    for printed, meant in zip(job.lines, intended, strict=True):
        for run in printed.runs:
            if run.text.strip():
                assert run.bold == (meant.style is not Style.NORMAL), printed.text
                assert run.height == (2 if meant.style is Style.LARGE else 1), printed.text


@CASE
@PAPER
@COPY
def test_receipt_text_matches_golden(case: SaleCase, paper: Paper, copy: ReceiptCopy) -> None:
    text = render_text(sealed(case, copy), paper)
    check_golden(f"{case.name}-{paper.name}-{copy.value}.txt", text.encode("utf-8"))


@CASE
@PAPER
@COPY
def test_receipt_escpos_matches_golden(case: SaleCase, paper: Paper, copy: ReceiptCopy) -> None:
    data = render_escpos(sealed(case, copy), paper)
    check_golden(f"{case.name}-{paper.name}-{copy.value}.bin", data)


@CASE
@PAPER
@COPY
def test_receipt_decodes_to_intended_lines(case: SaleCase, paper: Paper, copy: ReceiptCopy) -> None:
    receipt = sealed(case, copy)
    data = (GOLDEN / f"{case.name}-{paper.name}-{copy.value}.bin").read_bytes()
    check_decoded(data, compose(receipt, paper, printer_width))


@pytest.mark.parametrize("slip", list(SLIPS))
@PAPER
def test_slip_matches_golden_and_decodes(slip: str, paper: Paper) -> None:
    text, data = SLIPS[slip](paper)
    check_golden(f"{slip}-{paper.name}.txt", text.encode("utf-8"))
    check_golden(f"{slip}-{paper.name}.bin", data)
    check_decoded(data, SLIP_LINES[slip](paper))


def test_no_stray_golden_files() -> None:
    expected = {
        f"{case.name}-{paper}-{copy.value}.{ext}"
        for case in SALE_CASES
        for paper in PAPERS
        for copy in ReceiptCopy
        for ext in ("bin", "txt")
    } | {f"{slip}-{paper}.{ext}" for slip in SLIPS for paper in PAPERS for ext in ("bin", "txt")}
    assert {path.name for path in GOLDEN.iterdir() if path.name != ".gitattributes"} == expected
