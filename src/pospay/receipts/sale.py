"""The two receipts of an approved sale, built from what the terminal journal holds.

The journal keeps the card number masked as first 6 / last 4 and never the PAN, so
that form is the input: the merchant copy prints it as is and the customer copy
keeps only the last 4 digits. Times are printed as the merchant's wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone, tzinfo

from pospay.money import Money
from pospay.receipts.masking import customer_display
from pospay.receipts.model import ChipData, Receipt, ReceiptCopy
from pospay.transaction import Kind, Method

# China has one time zone and no daylight saving: a fixed offset is exact.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class SaleReceiptData:
    """An approved attempt as the terminal journal records it."""

    merchant_name: str
    merchant_id: str
    terminal_id: str
    operator: str
    kind: Kind
    method: Method
    card_brand: str
    masked_pan: str  # first 6 / last 4, e.g. "621234******0012"
    batch: str
    voucher: str
    stan: str
    auth_code: str | None
    rrn: str
    at: datetime  # timezone-aware, any zone
    amount: Money
    reference: str
    signature_required: bool
    pin_verified: bool = False
    issuer: str | None = None
    acquirer: str | None = None
    chip: ChipData | None = None  # the chip's answer (chip and contactless)
    balance: Money | None = None  # a prepaid card's balance after the attempt
    # A QR wallet payment (`Receipt.wallet`, `wallet_order`, `payer`).
    wallet: str | None = None
    wallet_order: str | None = None
    payer: str | None = None


def build_sale_receipts(
    sale: SaleReceiptData, *, zone: tzinfo = CHINA_STANDARD_TIME
) -> tuple[Receipt, Receipt]:
    """The original (merchant copy, customer copy) of `sale`, with times shown in `zone`.

    Raises `ValueError` if `masked_pan` is not the masked form (a full PAN is refused)
    or if any other field cannot appear on a receipt.
    """
    if sale.at.tzinfo is None:
        raise ValueError("sale time must be timezone-aware")
    merchant = Receipt(
        copy=ReceiptCopy.MERCHANT,
        merchant_name=sale.merchant_name,
        merchant_id=sale.merchant_id,
        terminal_id=sale.terminal_id,
        operator=sale.operator,
        kind=sale.kind,
        method=sale.method,
        card_brand=sale.card_brand,
        card_display=sale.masked_pan,
        batch=sale.batch,
        voucher=sale.voucher,
        stan=sale.stan,
        auth_code=sale.auth_code,
        rrn=sale.rrn,
        at=sale.at.astimezone(zone),
        amount=sale.amount,
        reference=sale.reference,
        signature_required=sale.signature_required,
        pin_verified=sale.pin_verified,
        issuer=sale.issuer,
        acquirer=sale.acquirer,
        chip=sale.chip,
        balance=sale.balance,
        wallet=sale.wallet,
        wallet_order=sale.wallet_order,
        payer=sale.payer,
    )
    shown = customer_display(sale.masked_pan) if sale.masked_pan else ""
    customer = replace(merchant, copy=ReceiptCopy.CUSTOMER, card_display=shown)
    return merchant, customer
