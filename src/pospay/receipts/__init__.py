"""Receipts: the model of a receipt copy, its layout as data, and its renderers.

    merchant, customer = build_sale_receipts(sale)     # masks per copy
    render_text(merchant, PAPER_58MM)                  # str, for screens and the journal
    render_escpos(customer, PAPER_80MM)                # bytes, for a thermal printer

The card number arrives masked (first 6 / last 4) and leaves masked for its copy
(customer: last 4); a full PAN is refused with `ValueError`.

Every stored receipt is also a signed document of its terminal's chain:
`pospay.receipts.signing` (canonical form, hash, Ed25519, the QR payload a receipt's
`seal` carries) and `pospay.receipts.chain` (export format, verification, named faults).
"""

from pospay.receipts.escpos import render_escpos
from pospay.receipts.layout import PAPER_58MM, PAPER_80MM, PAPERS, SALE_SLIP, Layout, Paper
from pospay.receipts.masking import customer_display
from pospay.receipts.model import ChipData, Receipt, ReceiptCopy
from pospay.receipts.sale import CHINA_STANDARD_TIME, SaleReceiptData, build_sale_receipts
from pospay.receipts.text import render_text

__all__ = [
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
]
