"""The sample sale every receipt test prints, ways to vary it, and the papers and copies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pospay.money import Money
from pospay.receipts import (
    PAPER_58MM,
    PAPER_80MM,
    Receipt,
    ReceiptCopy,
    SaleReceiptData,
    build_sale_receipts,
)
from pospay.receipts.signing import GENESIS, qr_payload, sign_receipt
from pospay.transaction import Kind, Method

# A fixed signing key for receipts whose bytes must not change (golden files); Ed25519
# signatures are deterministic. A test key, never a terminal's.
SAMPLE_SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))

# Test card 6212345600000012 of pospay.issuer.test_cards. The full number appears here
# only so that tests can prove no more of it than the masked form reaches paper.
TEST_PAN = "6212345600000012"
MERCHANT_DISPLAY = "621234******0012"
CUSTOMER_DISPLAY = "************0012"

SAMPLE_SALE = SaleReceiptData(
    merchant_name="示范便利店（中关村店）",
    merchant_id="898110154110001",
    terminal_id="31500422",
    operator="01",
    kind=Kind.SALE,
    method=Method.CARD_CHIP,
    card_brand="UnionPay",
    masked_pan=MERCHANT_DISPLAY,
    batch="000001",
    voucher="000123",
    stan="000123",
    auth_code="583016",
    rrn="601011700123",
    at=datetime(2026, 1, 1, 9, 30, 5, tzinfo=UTC),  # 17:30:05 in Beijing
    amount=Money(1250, "CNY"),
    reference="POS-20260101-0001",
    signature_required=True,
)


def sale_with(**changes: Any) -> SaleReceiptData:
    """The sample sale with some fields changed."""
    return dataclasses.replace(SAMPLE_SALE, **changes)


def receipt_for(copy: ReceiptCopy, sale: SaleReceiptData = SAMPLE_SALE) -> Receipt:
    """The original receipt of `sale` for `copy`."""
    merchant, customer = build_sale_receipts(sale)
    return merchant if copy is ReceiptCopy.MERCHANT else customer


def sealed_receipt_for(copy: ReceiptCopy, sale: SaleReceiptData = SAMPLE_SALE) -> Receipt:
    """The original receipt of `sale` for `copy`, signed as the first of its chain."""
    receipt = receipt_for(copy, sale)
    signed = sign_receipt(receipt, 1, GENESIS, SAMPLE_SIGNING_KEY)
    return dataclasses.replace(receipt, seal=qr_payload(signed))


def expected_display(copy: ReceiptCopy) -> str:
    return MERCHANT_DISPLAY if copy is ReceiptCopy.MERCHANT else CUSTOMER_DISPLAY


def pan_leaks(printed: str, copy: ReceiptCopy) -> list[str]:
    """Pieces of the test PAN on paper beyond what `copy` may show.

    No copy may show 7 consecutive digits of the PAN (the merchant copy shows 6 and 4),
    and the customer copy must not show the first 6.
    """
    windows = {TEST_PAN[i : i + 7] for i in range(len(TEST_PAN) - 6)}
    if copy is ReceiptCopy.CUSTOMER:
        windows.add(TEST_PAN[:6])
    return sorted(window for window in windows if window in printed)


PAPER = pytest.mark.parametrize("paper", [PAPER_58MM, PAPER_80MM], ids=["58mm", "80mm"])
COPY = pytest.mark.parametrize("copy", list(ReceiptCopy), ids=[c.value for c in ReceiptCopy])
