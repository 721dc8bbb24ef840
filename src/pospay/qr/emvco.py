"""EMVCo merchant-presented QR payloads: TLV parsing, CRC-16/CCITT-FALSE, building.

A payload is a run of fields, each a 2-digit id, a 2-digit length (in characters) and the
value. Some ids hold templates, whose value is itself such a run: 26–51 (merchant account
information), 62 (additional data), 64 (merchant information in another language) and
80–99 (unreserved templates). The unreserved ids belong to the scheme that made the code,
and some put a plain value there (QPay's codes end `8002` `01`), so a value of 80–99 that
is not a run of fields is kept as a plain field rather than refused. The last field is
always 63, length 04: the CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no
reflection, no final XOR) of the payload's UTF-8 bytes up to and including "6304", as four
hex digits, upper case as EMVCo writes them (wallets read lower case too).

>>> crc16_ccitt_false(b"123456789") == 0x29B1
True
>>> [(f.tag, f.value) for f in parse_fields("000201010211")]
[('00', '01'), ('01', '11')]

Our dynamic QR carries its expiry in unreserved template 80, whose globally unique
identifier (sub-id 00) is `POSPAY_GUI` and whose sub-id 01 is the expiry instant in UTC as
`YYYYMMDDhhmmss` (see `build_payload`); a template 80 with any other sub-id 00 is another
scheme's (`pospay.qr.expiry` reads the expiries of the schemes it knows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pospay.errors import BadInput
from pospay.money import Money, currency_exponent, currency_numeric

PAYLOAD_FORMAT = "00"
POINT_OF_INITIATION = "01"
MERCHANT_CATEGORY = "52"
CURRENCY = "53"
AMOUNT = "54"
COUNTRY = "58"
MERCHANT_NAME = "59"
MERCHANT_CITY = "60"
ADDITIONAL_DATA = "62"
CRC = "63"
POSPAY_TEMPLATE = "80"

STATIC = "11"
DYNAMIC = "12"
# Sub-id of 62 "defined by the merchant or acquirer to identify a transaction": our order.
REFERENCE_LABEL = "05"
TERMINAL_LABEL = "07"  # sub-id of 62
POSPAY_GUI = "COM.POSPAY.QR"
EXPIRY = "01"  # sub-id of template 80
EXPIRY_FORMAT = "%Y%m%d%H%M%S"

MAX_PAYLOAD = 512  # EMVCo's limit on the whole payload, in characters

TAG_NAMES: dict[str, str] = {
    PAYLOAD_FORMAT: "payload format indicator",
    POINT_OF_INITIATION: "point of initiation method",
    MERCHANT_CATEGORY: "merchant category code",
    CURRENCY: "transaction currency",
    AMOUNT: "transaction amount",
    "55": "tip or convenience indicator",
    COUNTRY: "country code",
    MERCHANT_NAME: "merchant name",
    MERCHANT_CITY: "merchant city",
    "61": "postal code",
    ADDITIONAL_DATA: "additional data",
    CRC: "CRC",
    "64": "merchant information, alternate language",
}

TAG_NAMES_ZH: dict[str, str] = {
    PAYLOAD_FORMAT: "格式版本",
    POINT_OF_INITIATION: "静态/动态标识",
    MERCHANT_CATEGORY: "商户类别码",
    CURRENCY: "币种",
    AMOUNT: "金额",
    COUNTRY: "国家代码",
    MERCHANT_NAME: "商户名称",
    MERCHANT_CITY: "商户城市",
    ADDITIONAL_DATA: "附加数据",
    CRC: "校验码",
}


def is_template(tag: str) -> bool:
    """Whether field `tag` at the top level holds nested fields."""
    number = int(tag)
    return 26 <= number <= 51 or number in (62, 64) or 80 <= number <= 99


def is_unreserved(tag: str) -> bool:
    """Ids 80–99 are templates whose content the scheme that made the code defines."""
    return 80 <= int(tag) <= 99


def is_merchant_account(tag: str) -> bool:
    """Ids 02–51 carry merchant account information (02–25 primitive, 26–51 templates)."""
    return 2 <= int(tag) <= 51


class PayloadStructureError(BadInput):
    """The TLV run cannot be read: `.pos` is the character offset, `.tag` the field at fault."""

    def __init__(self, message: str, *, pos: int, tag: str | None = None) -> None:
        super().__init__(message)
        self.pos = pos
        self.tag = tag


@dataclass(frozen=True, slots=True)
class Field:
    """One TLV field; `children` holds the nested fields of a template, else is empty."""

    tag: str
    value: str
    children: tuple[Field, ...] = ()

    def child(self, tag: str) -> str | None:
        return next((c.value for c in self.children if c.tag == tag), None)


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, MSB first, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def crc_of(text_through_6304: str) -> str:
    """The four upper-case hex digits tag 63 must hold after `text_through_6304`."""
    return f"{crc16_ccitt_false(text_through_6304.encode('utf-8')):04X}"


def parse_fields(text: str, *, base: int = 0, nested: bool = True) -> tuple[Field, ...]:
    """Read a TLV run exactly to its end; `base` offsets error positions inside templates."""
    fields: list[Field] = []
    pos = 0
    while pos < len(text):
        if len(text) - pos < 4:
            raise PayloadStructureError(
                f"{len(text) - pos} character(s) left over after the last field",
                pos=base + pos,
            )
        tag, length_text = text[pos : pos + 2], text[pos + 2 : pos + 4]
        if not (tag.isascii() and tag.isdigit()):
            raise PayloadStructureError(f"field id {tag!r} is not two digits", pos=base + pos)
        if not (length_text.isascii() and length_text.isdigit()):
            raise PayloadStructureError(
                f"length {length_text!r} of field {tag} is not two digits", pos=base + pos, tag=tag
            )
        length = int(length_text)
        start = pos + 4
        if start + length > len(text):
            raise PayloadStructureError(
                f"field {tag} says {length} characters but only {len(text) - start} remain",
                pos=base + pos,
                tag=tag,
            )
        value = text[start : start + length]
        if any(field.tag == tag for field in fields):
            raise PayloadStructureError(f"field {tag} appears twice", pos=base + pos, tag=tag)
        children = _children(tag, value, base + start) if nested and is_template(tag) else ()
        fields.append(Field(tag, value, children))
        pos = start + length
    return tuple(fields)


def _children(tag: str, value: str, base: int) -> tuple[Field, ...]:
    if not is_unreserved(tag):
        return parse_fields(value, base=base, nested=False)
    try:
        return parse_fields(value, base=base, nested=False)
    except PayloadStructureError:
        return ()  # another scheme's own use of an unreserved id: a plain field


def parse_payload(payload: str) -> tuple[Field, ...]:
    """All top-level fields of `payload` (templates with their children); checks structure only."""
    if len(payload) > MAX_PAYLOAD:
        raise PayloadStructureError(
            f"payload is {len(payload)} characters, more than EMVCo's {MAX_PAYLOAD}",
            pos=MAX_PAYLOAD,
        )
    return parse_fields(payload)


def tlv(tag: str, value: str) -> str:
    """One field as text; refuses what cannot be encoded."""
    if len(tag) != 2 or not tag.isdigit():
        raise BadInput(f"field id {tag!r} is not two digits")
    if len(value) > 99:
        raise BadInput(f"field {tag} value is {len(value)} characters, at most 99 fit")
    return f"{tag}{len(value):02d}{value}"


def template(tag: str, children: Iterable[tuple[str, str]]) -> str:
    return tlv(tag, "".join(tlv(sub, value) for sub, value in children))


def amount_text(amount: Money) -> str:
    """Tag 54: the amount in major units with the currency's decimals ("12.50", "1000")."""
    if amount.minor <= 0:
        raise BadInput(f"a QR amount must be positive, not {amount}")
    return f"{amount.as_decimal():.{currency_exponent(amount.currency)}f}"


@dataclass(frozen=True, slots=True)
class MerchantAccount:
    """A merchant account template (ids 26–51): its GUI (sub-id 00) and the merchant's id."""

    tag: str
    gui: str
    merchant_id: str

    def encode(self) -> str:
        if not 26 <= int(self.tag) <= 51:
            raise BadInput(f"merchant account template id must be 26–51, not {self.tag}")
        return template(self.tag, [("00", self.gui), ("01", self.merchant_id)])


def build_payload(
    *,
    account: MerchantAccount,
    merchant_category: str,
    amount: Money,
    country: str,
    merchant_name: str,
    merchant_city: str,
    reference: str,
    expires_at: datetime | None = None,
    terminal_label: str | None = None,
) -> str:
    """A dynamic (01 = 12) merchant-presented payload for one sale, CRC in upper case.

    `reference` (our order reference) goes into 62 sub-id 05, the reference label;
    `expires_at` (aware) into template 80 as described in the module docstring.
    """
    if len(merchant_category) != 4 or not merchant_category.isdigit():
        raise BadInput(f"merchant category code {merchant_category!r} is not four digits")
    if len(country) != 2 or not country.isalpha():
        raise BadInput(f"country code {country!r} is not two letters")
    if not reference:
        raise BadInput("a dynamic QR needs an order reference")
    additional = [(REFERENCE_LABEL, reference)]
    if terminal_label:
        additional.append((TERMINAL_LABEL, terminal_label))
    parts = [
        tlv(PAYLOAD_FORMAT, "01"),
        tlv(POINT_OF_INITIATION, DYNAMIC),
        account.encode(),
        tlv(MERCHANT_CATEGORY, merchant_category),
        tlv(CURRENCY, currency_numeric(amount.currency)),
        tlv(AMOUNT, amount_text(amount)),
        tlv(COUNTRY, country.upper()),
        tlv(MERCHANT_NAME, _required("merchant name", merchant_name, 25)),
        tlv(MERCHANT_CITY, _required("merchant city", merchant_city, 15)),
        template(ADDITIONAL_DATA, additional),
    ]
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise BadInput("the expiry must be an aware datetime")
        expiry = expires_at.astimezone(UTC).strftime(EXPIRY_FORMAT)
        parts.append(template(POSPAY_TEMPLATE, [("00", POSPAY_GUI), (EXPIRY, expiry)]))
    body = "".join(parts) + CRC + "04"
    return body + crc_of(body)


def _required(what: str, value: str, limit: int) -> str:
    if not value or len(value) > limit:
        raise BadInput(f"{what} must be 1 to {limit} characters, not {len(value)}")
    return value
