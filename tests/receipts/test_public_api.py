"""The public face of pospay.receipts: exactly the intended names, imported without side effects."""

from __future__ import annotations

import subprocess
import sys

import pospay.receipts


def test_exported_names() -> None:
    assert set(pospay.receipts.__all__) == {
        "CHINA_STANDARD_TIME",
        "PAPERS",
        "PAPER_58MM",
        "PAPER_80MM",
        "SALE_SLIP",
        "ChipData",
        "Layout",
        "Paper",
        "Receipt",
        "ReceiptCopy",
        "SaleReceiptData",
        "build_sale_receipts",
        "customer_display",
        "render_escpos",
        "render_text",
    }
    assert all(hasattr(pospay.receipts, name) for name in pospay.receipts.__all__)


def test_papers_are_58mm_and_80mm_in_font_a_columns() -> None:
    papers = pospay.receipts.PAPERS
    assert {name: (p.printable_dots, p.columns) for name, p in papers.items()} == {
        "58mm": (384, 32),
        "80mm": (576, 48),
    }


def test_importing_receipts_leaves_logging_alone() -> None:
    # python-escpos calls logging.basicConfig() when imported; that must wait for a render.
    code = "import logging, pospay.receipts; assert not logging.getLogger().handlers"
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 (constant code)
