"""QR codes of payments: EMVCo merchant-presented payloads (`emvco`), customer-presented
payment codes (`customer_codes`) and the cashier's diagnosis of either (`diagnosis`)."""

from pospay.qr.customer_codes import CustomerCode, Refusal, Wallet, classify
from pospay.qr.diagnosis import Note, NoteKind, Verdict, VerdictKind, check, unreadable
from pospay.qr.emvco import (
    Field,
    MerchantAccount,
    PayloadStructureError,
    build_payload,
    crc16_ccitt_false,
    parse_payload,
)

__all__ = [
    "CustomerCode",
    "Field",
    "MerchantAccount",
    "Note",
    "NoteKind",
    "PayloadStructureError",
    "Refusal",
    "Verdict",
    "VerdictKind",
    "Wallet",
    "build_payload",
    "check",
    "classify",
    "crc16_ccitt_false",
    "parse_payload",
    "unreadable",
]
