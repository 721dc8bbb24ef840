"""Field 55: the EMV data objects (BER-TLV) a chip transaction carries, as data.

A request carries what the card produced for it (`REQUEST_TAGS`: the cryptogram and
the data it covers, plus the AID); a response carries tag 91, the issuer authentication
data (ARPC || ARC). Tags are upper-case hex strings, values bytes, as pyemv's TLV codec
reads and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyemv import tlv

from pospay.errors import MessageFormatError
from pospay.transaction import Method

# The entry modes whose requests must carry an ARQC in field 55.
CHIP_METHODS = frozenset({Method.CARD_CHIP, Method.CARD_CONTACTLESS})

# What a chip request's field 55 holds, in the order it is written.
REQUEST_TAGS: tuple[str, ...] = (
    "9F26",  # application cryptogram (the ARQC)
    "9F27",  # cryptogram information data (80: ARQC)
    "9F10",  # issuer application data (CVN 10: the CVR inside)
    "9F37",  # unpredictable number
    "9F36",  # application transaction counter (ATC)
    "95",  # terminal verification results (TVR)
    "9A",  # transaction date YYMMDD
    "9C",  # transaction type
    "9F02",  # amount, authorised
    "9F03",  # amount, other
    "5F2A",  # transaction currency code
    "82",  # application interchange profile (AIP)
    "9F1A",  # terminal country code
    "84",  # dedicated file name (the AID)
)
ISSUER_AUTHENTICATION_DATA = "91"


def _n(value: int | str, length: int) -> bytes:
    """An EMV numeric (BCD) value of `length` bytes."""
    return bytes.fromhex(str(value).zfill(2 * length))


@dataclass(frozen=True, slots=True)
class TerminalData:
    """What the terminal hands the card with GENERATE AC."""

    amount_minor: int
    currency_numeric: str  # ISO 4217 numeric, "156"
    country_numeric: str  # ISO 3166 numeric, "156"
    date: datetime
    unpredictable_number: bytes  # 4 bytes from the terminal's random source
    transaction_type: str = "00"  # 00 goods and services, 30 balance inquiry, 03 preauth
    other_minor: int = 0
    # Byte 4 bit 8: transaction exceeds floor limit (a pospay terminal's floor limit is 0).
    tvr: bytes = bytes.fromhex("0000008000")

    def tags(self) -> dict[str, bytes]:
        return {
            "9F02": _n(self.amount_minor, 6),
            "9F03": _n(self.other_minor, 6),
            "9F1A": _n(self.country_numeric, 2),
            "95": self.tvr,
            "5F2A": _n(self.currency_numeric, 2),
            "9A": bytes.fromhex(self.date.strftime("%y%m%d")),
            "9C": _n(self.transaction_type, 1),
            "9F37": self.unpredictable_number,
        }


@dataclass(frozen=True, slots=True)
class IccData:
    """The card's answer to one GENERATE AC: field 55's tags, and what the terminal
    journal keeps for receipts (AID, label, TVR, TSI, ATC, ARQC: no cardholder data)."""

    tags: dict[str, bytes]
    application_label: str
    tsi: bytes

    @property
    def arqc(self) -> bytes:
        return self.tags["9F26"]

    @property
    def aid(self) -> str:
        return self.tags["84"].hex().upper()

    @property
    def atc(self) -> int:
        return int.from_bytes(self.tags["9F36"], "big")

    def field_55(self) -> bytes:
        return encode_icc_data({tag: self.tags[tag] for tag in REQUEST_TAGS})


def encode_icc_data(tags: dict[str, bytes]) -> bytes:
    """Field 55 of `tags`, BER-TLV."""
    return tlv.encode(tags)


def decode_icc_data(data: bytes) -> dict[str, bytes]:
    """The tags of field 55; `MessageFormatError` (field 55) if it is not BER-TLV."""
    try:
        decoded = tlv.decode(data, flatten=True)
    except tlv.DecodeError as error:
        raise MessageFormatError(f"field 55 is not BER-TLV: {error}", field="55") from None
    return {tag.upper(): bytes(value) for tag, value in decoded.items()}
