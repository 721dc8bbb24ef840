"""Field 48 of a QR payment: sub-fields in the EMVCo QR's own TLV form.

Each sub-field is a 2-digit id, a 2-digit length and the value (`pospay.qr.emvco`'s
codec), in ascending id order:

| id | name | in |
|---|---|---|
| `01` | the customer's payment code (a bearer token: never stored) | request, customer-presented |
| `02` | wallet: `alipay` or `wechat` | request, merchant-presented; answers |
| `03` | the host's order number at the wallet (the QR's order reference) | answers |
| `04` | the wallet's trade number | answers, once paid |
| `05` | the payer, as the wallet masked it | answers, once paid |
| `06` | seconds between status queries while the payer pays | answers `09` |
| `07` | when the merchant QR expires, UTC `YYYYMMDDhhmmss` | request, merchant-presented |
| `08` | the merchant's id at the wallet, for the QR's merchant account template | answers |

>>> qr_field({WALLET: "alipay", ORDER: "PP000000000001"})
'0206alipay0314PP000000000001'
>>> read_qr_field("0206alipay0314PP000000000001")[ORDER]
'PP000000000001'
"""

from __future__ import annotations

from collections.abc import Mapping

from pospay.errors import BadInput, MessageFormatError
from pospay.qr.emvco import parse_fields, tlv

CODE, WALLET, ORDER, TRADE_NO, PAYER, POLL_INTERVAL, EXPIRES, MERCHANT = (
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "07",
    "08",
)
EXPIRY_FORMAT = "%Y%m%d%H%M%S"


def qr_field(subfields: Mapping[str, str]) -> str:
    """Field 48 holding `subfields` (empty values left out)."""
    return "".join(tlv(tag, value) for tag, value in sorted(subfields.items()) if value)


def read_qr_field(value: str) -> dict[str, str]:
    """The sub-fields of field 48; a malformed one is a format error of field 48."""
    try:
        return {field.tag: field.value for field in parse_fields(value, nested=False)}
    except BadInput as error:
        raise MessageFormatError(f"field 48: {error}", field="48") from None
