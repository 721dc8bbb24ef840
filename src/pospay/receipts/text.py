"""Receipts as plain text: what a screen, a log of printed paper or an e-mail shows.

Columns are counted as a terminal shows them (a Chinese character takes two), so
the text lines up in a monospaced font exactly as the paper does.
"""

from __future__ import annotations

from pospay.receipts.columns import text_width
from pospay.receipts.compose import compose
from pospay.receipts.layout import SALE_SLIP, Layout, Paper
from pospay.receipts.model import Receipt


def render_text(receipt: Receipt, paper: Paper, *, layout: Layout = SALE_SLIP) -> str:
    """`receipt` as lines of at most `paper.columns` columns, each ending in a newline."""
    return "".join(line.text + "\n" for line in compose(receipt, paper, text_width, layout))
