"""Signed receipt chains for tests: built with the real signer, exported, edited as JSON."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pospay.money import Money
from pospay.receipts import Receipt, ReceiptCopy, SaleReceiptData, build_sale_receipts
from pospay.receipts.chain import export_chain
from pospay.receipts.signing import GENESIS, SignedDocument, sign_receipt
from pospay.transaction import Kind, Method

# The card the sample sale was paid with; only its masked form may reach a document.
TEST_PAN = "6212345600000012"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))
TERMINAL = "31500422"

_SALE = SaleReceiptData(
    merchant_name="示范便利店（中关村店）",
    merchant_id="898110154110001",
    terminal_id=TERMINAL,
    operator="01",
    kind=Kind.SALE,
    method=Method.CARD_CHIP,
    card_brand="UnionPay",
    masked_pan="621234******0012",
    batch="000001",
    voucher="000001",
    stan="000001",
    auth_code="583016",
    rrn="601011700001",
    at=datetime(2026, 1, 1, 9, 30, 5, tzinfo=UTC),
    amount=Money(1250, "CNY"),
    reference="POS-0001",
    signature_required=False,
)


def receipt_for(copy: ReceiptCopy) -> Receipt:
    """The sample sale's original receipt for `copy`."""
    merchant, customer = build_sale_receipts(_SALE)
    return merchant if copy is ReceiptCopy.MERCHANT else customer


def signed_chain(attempts: int, key: Ed25519PrivateKey = KEY) -> list[SignedDocument]:
    """Both copies of `attempts` sales, signed in order: 2 * attempts documents."""
    chain: list[SignedDocument] = []
    previous = GENESIS
    for number in range(1, attempts + 1):
        sale = dataclasses.replace(
            _SALE,
            voucher=f"{number:06d}",
            stan=f"{number:06d}",
            rrn=f"6010117{number:05d}",
            amount=Money(1000 + number, "CNY"),
        )
        merchant, customer = build_sale_receipts(sale)
        for receipt in (customer, merchant):
            signed = sign_receipt(receipt, len(chain) + 1, previous, key)
            chain.append(signed)
            previous = signed.hash
    return chain


def exported(attempts: int, key: Ed25519PrivateKey = KEY) -> dict[str, Any]:
    """The export of a chain of `attempts` sales, as the JSON object the CLI writes."""
    return export_chain(TERMINAL, signed_chain(attempts, key), key, "2026-01-01T10:00:00+00:00")


def edited(chain: dict[str, Any]) -> dict[str, Any]:
    """A deep copy to edit."""
    return copy.deepcopy(chain)
