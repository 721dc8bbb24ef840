"""Signed receipt documents: the canonical form, its hash, its Ed25519 signature, the QR.

Every receipt copy the terminal stores is also a signed document, one link of the
terminal's chain (in the spirit of Austria's RKSV): it carries a per-terminal counter
(1, 2, 3, ... with no gaps) and the SHA-256 of the previous document of that terminal
(`GENESIS`, 64 zeros, for counter 1), so a dropped, reordered or altered receipt shows.

The canonical form is the document as UTF-8 JSON with keys sorted, no insignificant
whitespace (separators ``,`` and ``:``) and non-ASCII characters written as themselves
(`canonical_bytes`). Values are strings, integers, booleans or null, never floats, so
the form is unique. The fields are those acquirers print, and the chain position:

    format          "pospay-receipt/1"
    terminal        terminal id (field 41)         counter    chain position, from 1
    previous        SHA-256 hex of the previous document's canonical form
    key             `key_id` of the signing key (first 16 hex digits of SHA-256 of
                    the raw public key), so a wrong key is named as such
    merchant, merchant_name, operator, copy ("merchant" | "customer"), reprint,
    type (the transaction kind), method, card (masked as on this copy), brand,
    batch, voucher, stan, auth_code (or null), rrn, at (ISO 8601 with offset),
    amount_minor, currency, reference, signature_required, pin_verified, issuer and
    acquirer (or null), and for a chip or contactless card chip_aid, chip_label,
    chip_tvr, chip_tsi and chip_cryptogram (all null otherwise); a prepaid card's
    receipt also has balance_minor, the card's balance after the attempt (in the
    currency of the amount), a field other receipts do not carry

`hash` is the SHA-256 of the canonical form (hex); `signature` is Ed25519 over the
canonical form itself. The QR code printed on the receipt (`qr_payload`) is

    PPR1:<terminal>:<counter>:<hash>:<signature>

with hash and signature in unpadded upper-case base32 (RFC 4648), so that the code
uses QR's compact alphanumeric mode. It names the document in the terminal's chain
and proves which one was printed. No card number beyond the masked form appears.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pospay.money import Money
from pospay.receipts.model import Receipt, ReceiptCopy
from pospay.transaction import Kind, Method

FORMAT = "pospay-receipt/1"
QR_PREFIX = "PPR1"
GENESIS = "0" * 64

Document = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SignedDocument:
    """A receipt document, its hash and signature: what is stored and exported."""

    document: Document
    hash: str  # SHA-256 hex of the canonical form
    signature: bytes  # Ed25519, 64 bytes

    @property
    def counter(self) -> int:
        return int(self.document["counter"])

    @property
    def terminal(self) -> str:
        return str(self.document["terminal"])

    @property
    def canonical(self) -> bytes:
        return canonical_bytes(self.document)


def canonical_bytes(document: Document) -> bytes:
    """The canonical form: UTF-8 JSON, keys sorted, no whitespace. Refuses floats."""
    _check_values(document)
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def document_hash(document: Document) -> str:
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_hex(key: Ed25519PublicKey) -> str:
    return public_key_bytes(key).hex()


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from its 64 hex digits; `ValueError` otherwise."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError("a public key is 64 hex digits") from None
    if len(raw) != 32:
        raise ValueError(f"a public key is 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The fingerprint documents carry: the first 16 hex digits of SHA-256 of the key."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def receipt_document(receipt: Receipt, counter: int, previous: str, key: str) -> dict[str, Any]:
    """The document of `receipt` at chain position `counter` after `previous`."""
    if counter < 1:
        raise ValueError(f"a receipt counter starts at 1, not {counter}")
    chip = receipt.chip
    balance = {} if receipt.balance is None else {"balance_minor": receipt.balance.minor}
    wallet = (
        {}
        if receipt.wallet is None
        else {"wallet": receipt.wallet, "order": receipt.wallet_order, "payer": receipt.payer}
    )
    return (
        balance
        | wallet
        | {
            "format": FORMAT,
            "terminal": receipt.terminal_id,
            "counter": counter,
            "previous": previous,
            "key": key,
            "merchant": receipt.merchant_id,
            "merchant_name": receipt.merchant_name,
            "operator": receipt.operator,
            "copy": receipt.copy.value,
            "reprint": receipt.reprint_number,
            "type": receipt.kind.value,
            "method": receipt.method.value,
            "card": receipt.card_display,
            "brand": receipt.card_brand,
            "batch": receipt.batch,
            "voucher": receipt.voucher,
            "stan": receipt.stan,
            "auth_code": receipt.auth_code,
            "rrn": receipt.rrn,
            "at": receipt.at.isoformat(),
            "amount_minor": receipt.amount.minor,
            "currency": receipt.amount.currency,
            "reference": receipt.reference,
            "signature_required": receipt.signature_required,
            "pin_verified": receipt.pin_verified,
            "issuer": receipt.issuer,
            "acquirer": receipt.acquirer,
            "chip_aid": chip.aid if chip else None,
            "chip_label": chip.label if chip else None,
            "chip_tvr": chip.tvr if chip else None,
            "chip_tsi": chip.tsi if chip else None,
            "chip_cryptogram": chip.cryptogram if chip else None,
        }
    )


def receipt_of_document(document: Document) -> Receipt:
    """The receipt a document was made of (`receipt_document` read back), unsealed.
    Raises `ValueError` (or `KeyError` for a missing field) when it cannot be one."""
    d = document
    return Receipt(
        copy=ReceiptCopy(d["copy"]),
        merchant_name=d["merchant_name"],
        merchant_id=d["merchant"],
        terminal_id=d["terminal"],
        operator=d["operator"],
        kind=Kind(d["type"]),
        method=Method(d["method"]),
        card_brand=d["brand"],
        card_display=d["card"],
        batch=d["batch"],
        voucher=d["voucher"],
        stan=d["stan"],
        auth_code=d["auth_code"],
        rrn=d["rrn"],
        at=datetime.fromisoformat(d["at"]),
        amount=Money(d["amount_minor"], d["currency"]),
        reference=d["reference"],
        signature_required=d["signature_required"],
        reprint_number=d["reprint"],
        balance=None
        if d.get("balance_minor") is None
        else Money(d["balance_minor"], d["currency"]),
        wallet=d.get("wallet"),
        wallet_order=d.get("order"),
        payer=d.get("payer"),
    )


def sign_document(document: Document, key: Ed25519PrivateKey) -> SignedDocument:
    canonical = canonical_bytes(document)
    return SignedDocument(document, hashlib.sha256(canonical).hexdigest(), key.sign(canonical))


def sign_receipt(
    receipt: Receipt, counter: int, previous: str, key: Ed25519PrivateKey
) -> SignedDocument:
    """`receipt` as the signed document at `counter`, linked to `previous`."""
    document = receipt_document(receipt, counter, previous, key_id(key.public_key()))
    return sign_document(document, key)


def qr_payload(signed: SignedDocument) -> str:
    """What the receipt's QR code carries (format in this module's docstring)."""
    hash_part = _base32(bytes.fromhex(signed.hash))
    return f"{QR_PREFIX}:{signed.terminal}:{signed.counter}:{hash_part}:{_base32(signed.signature)}"


@dataclass(frozen=True, slots=True)
class Seal:
    """A QR payload read back: which document, its hash and its signature."""

    terminal: str
    counter: int
    hash: str
    signature: bytes


def read_qr_payload(payload: str) -> Seal:
    """Parse a QR payload; `ValueError` naming what is wrong."""
    parts = payload.strip().split(":")
    if len(parts) != 5 or parts[0] != QR_PREFIX:
        raise ValueError(f"not a {QR_PREFIX} receipt code")
    _, terminal, counter, hash_part, signature = parts
    if not counter.isdigit():
        raise ValueError("the receipt code's counter is not a number")
    try:
        digest, raw_signature = _unbase32(hash_part), _unbase32(signature)
    except ValueError:
        raise ValueError("the receipt code's hash or signature is not base32") from None
    if len(digest) != 32 or len(raw_signature) != 64:
        raise ValueError("the receipt code's hash or signature has the wrong length")
    return Seal(terminal, int(counter), digest.hex(), raw_signature)


def _base32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _unbase32(text: str) -> bytes:
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except (ValueError, TypeError) as error:
        raise ValueError(str(error)) from None


def _check_values(document: Document) -> None:
    for name, value in document.items():
        if not isinstance(name, str):
            raise ValueError("document keys are strings")
        if value is not None and not isinstance(value, str | int | bool):
            raise ValueError(f"document field {name} must be a string, integer, boolean or null")
