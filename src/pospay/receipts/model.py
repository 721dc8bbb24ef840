"""The receipt of one transaction, one copy: every fact the paper shows, nothing else.

A `Receipt` is what any renderer (text, ESC/POS, later PNG) and the signed document
(`signing.py`) draw from, so it checks its own invariants on construction: the card number is
masked as its copy allows, the identifiers have their ISO 8583 shapes, the time is
timezone-aware, and no text carries control characters that a printer would obey.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pospay.money import Money
from pospay.receipts.masking import check_customer_display, check_merchant_display
from pospay.transaction import Kind, Method


@dataclass(frozen=True, slots=True)
class ChipData:
    """What a chip card answered, as acquirers print it: no cardholder data.

    `aid` is the application identifier (5 to 16 bytes, hex), `label` the application
    label, `tvr` the terminal verification results (5 bytes, hex), `tsi` the transaction
    status information (2 bytes, hex) and `cryptogram` the ARQC (8 bytes, hex).
    """

    aid: str
    label: str
    tvr: str
    tsi: str
    cryptogram: str

    def __post_init__(self) -> None:
        _require_hex("aid", self.aid, range(10, 33))
        _require_hex("tvr", self.tvr, range(10, 11))
        _require_hex("tsi", self.tsi, range(4, 5))
        _require_hex("cryptogram", self.cryptogram, range(16, 17))
        _require_printable("application label", self.label)


QR_METHODS = frozenset({Method.QR_CUSTOMER, Method.QR_MERCHANT})


class ReceiptCopy(StrEnum):
    """Which copy: the merchant keeps one (signed), the cardholder takes the other."""

    MERCHANT = "merchant"
    CUSTOMER = "customer"


@dataclass(frozen=True, slots=True)
class Receipt:
    """One copy of one transaction's receipt. `reprint_number` 0 is the original."""

    copy: ReceiptCopy
    merchant_name: str
    merchant_id: str  # ISO 8583 field 42, 15 characters
    terminal_id: str  # field 41, 8 characters
    operator: str
    kind: Kind
    method: Method
    card_brand: str
    card_display: str  # already masked for this copy
    batch: str  # 6 digits
    voucher: str  # 6 digits: the terminal's trace (voucher) number
    stan: str  # 6 digits, field 11
    auth_code: str | None  # field 38, 6 characters, when the authority gave one
    rrn: str  # field 37, 12 characters
    at: datetime  # timezone-aware; printed as wall time in its own zone
    amount: Money
    reference: str  # the terminal's own reference for the attempt
    signature_required: bool
    reprint_number: int = 0
    # The cardholder entered a PIN the issuer verified: no signature is asked for.
    pin_verified: bool = False
    issuer: str | None = None  # the card issuer's name, when the terminal knows it
    acquirer: str | None = None  # the acquirer's name, when the terminal knows it
    chip: ChipData | None = None  # chip and contactless attempts
    # A prepaid card's balance after the attempt, as the programme answered it.
    balance: Money | None = None
    # The QR payload that ties the paper to its signed document (`signing.qr_payload`);
    # None before the receipt has been signed.
    seal: str | None = None
    # A QR wallet payment: the wallet, the host's order number there and the payer as
    # the wallet masked it (a QR payment has no card: `card_display` is empty).
    wallet: str | None = None
    wallet_order: str | None = None
    payer: str | None = None

    def __post_init__(self) -> None:
        if self.method in QR_METHODS:
            if self.card_display:
                raise ValueError("a QR payment's receipt shows no card number")
            if not self.wallet:
                raise ValueError("a QR payment's receipt names its wallet")
        elif self.copy is ReceiptCopy.MERCHANT:
            check_merchant_display(self.card_display)
        else:
            check_customer_display(self.card_display)
        for name in ("wallet", "wallet_order", "payer"):
            if getattr(self, name) is not None:
                _require_printable(name, getattr(self, name))
        for name in ("batch", "voucher", "stan"):
            _require_shape(name, getattr(self, name), 6, digits=True)
        _require_shape("merchant_id", self.merchant_id, 15)
        _require_shape("terminal_id", self.terminal_id, 8)
        _require_shape("rrn", self.rrn, 12)
        if self.auth_code is not None:
            _require_shape("auth_code", self.auth_code, 6)
        for name in ("merchant_name", "operator", "card_brand", "reference"):
            _require_printable(name, getattr(self, name))
        for name in ("issuer", "acquirer"):
            if getattr(self, name) is not None:
                _require_printable(name, getattr(self, name))
        if not self.merchant_name.strip():
            raise ValueError("receipt merchant_name is empty")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("receipt time must be timezone-aware")
        if self.seal is not None and not (self.seal.isascii() and self.seal.isprintable()):
            raise ValueError("receipt seal must be printable ASCII")
        if self.balance is not None and (
            self.balance.currency != self.amount.currency or self.balance.minor < 0
        ):
            raise ValueError(f"receipt balance must be 0 or more in {self.amount.currency}")
        if isinstance(self.reprint_number, bool) or self.reprint_number < 0:
            raise ValueError(f"reprint_number must be 0 or more, not {self.reprint_number!r}")


def _require_shape(name: str, value: str, length: int, *, digits: bool = False) -> None:
    """ISO 8583 identifiers: fixed length, printable ASCII (digits only where numeric)."""
    ok = len(value) == length and value.isascii() and value.isprintable()
    if ok and digits:
        ok = value.isdigit()
    if not ok:
        kind = "digits" if digits else "printable ASCII characters"
        raise ValueError(f"receipt {name} must be {length} {kind}, not {value!r}")


def _require_hex(name: str, value: str, lengths: range) -> None:
    """Upper-case hexadecimal digits, an even number of them, of a length in `lengths`."""
    ok = len(value) in lengths and len(value) % 2 == 0
    if not (ok and all(c in "0123456789ABCDEF" for c in value)):
        shown = f"{lengths.start}" if len(lengths) == 1 else f"{lengths.start} to {lengths[-1]}"
        raise ValueError(f"chip {name} must be {shown} upper-case hex digits, not {value!r}")


def _require_printable(name: str, value: str) -> None:
    """Refuse control, format and unassigned characters: a printer would act on them."""
    for char in value:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            raise ValueError(f"receipt {name} contains the unprintable character U+{ord(char):04X}")
