"""From a journal row to the receipt jobs the terminal stores and prints.

Small sales need no signature (the "small amount, no signature" rule acquirers apply);
the limit is a terminal setting.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from pospay.money import Money
from pospay.receipts import PAPERS, SaleReceiptData, build_sale_receipts, render_escpos, render_text
from pospay.terminal.config import TerminalConfig
from pospay.transaction import Kind, Method


def render_receipts(row: Row[Any], config: TerminalConfig) -> list[tuple[str, str, bytes]]:
    """(copy, text, ESC/POS bytes) for each copy of an approved sale, customer copy first."""
    amount = Money(row.amount_minor, row.currency)
    sale = SaleReceiptData(
        merchant_name=config.merchant_name,
        merchant_id=config.merchant_id,
        terminal_id=row.terminal_id,
        operator=row.operator,
        kind=Kind(row.kind),
        method=Method(row.method),
        card_brand=row.brand,
        masked_pan=row.pan_masked,
        batch=row.batch,
        voucher=row.voucher,
        stan=row.stan,
        auth_code=row.auth_code,
        rrn=row.rrn,
        at=row.updated_at,
        amount=amount,
        reference=row.local_ref,
        signature_required=amount.minor > config.no_signature_limit_minor,
    )
    merchant, customer = build_sale_receipts(sale)
    paper = PAPERS[f"{config.paper_mm}mm"]
    return [
        (receipt.copy.value, render_text(receipt, paper), render_escpos(receipt, paper))
        for receipt in (customer, merchant)
    ]
