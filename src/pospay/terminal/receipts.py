"""From a journal row to the receipt jobs the terminal signs, stores and prints.

A prepaid card's receipt also shows the card's balance after the attempt. Small sales
need no signature (the "small amount, no signature" rule acquirers apply);
the limit is a terminal setting. Each copy is also a signed document, the next link of
the terminal's chain (`terminal.receipt_chain`); its QR code goes on the paper.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Row

from pospay.money import Money
from pospay.receipts import (
    PAPERS,
    ChipData,
    Receipt,
    SaleReceiptData,
    build_sale_receipts,
    render_escpos,
    render_text,
)
from pospay.receipts.signing import qr_payload
from pospay.terminal import journal, receipt_chain
from pospay.terminal.config import PREPAID_BRAND, TerminalConfig
from pospay.transaction import Kind, Method


def build_receipts(row: Row[Any], config: TerminalConfig) -> tuple[Receipt, Receipt]:
    """(customer copy, merchant copy) of an approved attempt: the order they print in."""
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
        # A wallet verifies its payer itself: a QR payment is never signed for.
        signature_required=amount.minor > config.no_signature_limit_minor and not row.wallet,
        chip=_chip(row),
        balance=_prepaid_balance(row),
        wallet=row.wallet,
        wallet_order=row.wallet_order,
        payer=row.payer_masked,
    )
    merchant, customer = build_sale_receipts(sale)
    return customer, merchant


def _prepaid_balance(row: Row[Any]) -> Money | None:
    """A prepaid card's balance after the attempt, as the host answered it (field 54)."""
    if row.brand != PREPAID_BRAND or row.balance_minor is None:
        return None
    return Money(row.balance_minor, row.currency)


def _chip(row: Row[Any]) -> ChipData | None:
    """The chip's answer the journal kept (chip and contactless sales; a follow-up has none)."""
    if row.emv_aid is None or row.emv_tvr is None or row.emv_tsi is None or row.emv_arqc is None:
        return None
    return ChipData(row.emv_aid, row.emv_label or "", row.emv_tvr, row.emv_tsi, row.emv_arqc)


def store_receipts(
    connection: Connection,
    row: Row[Any],
    config: TerminalConfig,
    key: Ed25519PrivateKey,
    now: datetime,
) -> list[int]:
    """Sign, render and store each original copy of the approved attempt `row`, customer
    copy first, in the caller's unit; the stored receipt ids."""
    paper = PAPERS[f"{config.paper_mm}mm"]
    stored: list[int] = []
    receipts = build_receipts(row, config)
    for receipt, signed in zip(
        receipts, receipt_chain.sign_chain(connection, receipts, key), strict=True
    ):
        sealed = dataclasses.replace(receipt, seal=qr_payload(signed))
        receipt_id = journal.store_receipt(
            connection,
            row,
            receipt.copy.value,
            render_text(sealed, paper),
            render_escpos(sealed, paper),
            now,
        )
        receipt_chain.store_document(connection, receipt_id, signed, now)
        stored.append(receipt_id)
    return stored
