"""Which messages exist on the link, as data: MTI and processing code to transaction kind,
the fields each request must carry, and the entry modes of field 22."""

from __future__ import annotations

from pospay.errors import MessageFormatError
from pospay.transaction import Kind, Method

SIGN_IN_CODE = "001"  # field 70, network management information code

PROCESSING_CODES: dict[Kind, str] = {
    Kind.SALE: "000000",
    Kind.BALANCE_INQUIRY: "310000",
}

REQUEST_MTI: dict[Kind, str] = {
    Kind.SIGN_IN: "0800",
    Kind.SALE: "0200",
    Kind.BALANCE_INQUIRY: "0200",
}

_CARD_REQUEST = ("2", "3", "7", "11", "12", "13", "14", "22", "25", "41", "42", "49", "60")

REQUIRED_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.SIGN_IN: ("7", "11", "41", "42", "60", "70"),
    Kind.SALE: (*_CARD_REQUEST, "4"),
    Kind.BALANCE_INQUIRY: _CARD_REQUEST,
}

# Field 22: PAN entry mode (2 digits) + PIN entry capability (1 digit: 1 can accept PIN).
ENTRY_MODES: dict[Method, str] = {
    Method.CARD_MANUAL: "011",
    Method.CARD_MAGSTRIPE: "021",
    Method.CARD_CHIP: "051",
    Method.CARD_CONTACTLESS: "071",
}
METHOD_OF_ENTRY_MODE: dict[str, Method] = {code[:2]: method for method, code in ENTRY_MODES.items()}

_KIND_OF: dict[tuple[str, str | None], Kind] = {
    ("0800", None): Kind.SIGN_IN,
    ("0200", PROCESSING_CODES[Kind.SALE]): Kind.SALE,
    ("0200", PROCESSING_CODES[Kind.BALANCE_INQUIRY]): Kind.BALANCE_INQUIRY,
}


def response_mti(mti: str) -> str:
    """The response MTI of a request MTI: 0200 -> 0210, 0800 -> 0810."""
    if len(mti) != 4 or not mti.isdigit() or int(mti[2]) % 2:
        raise MessageFormatError(f"MTI {mti!r} is not a request", field="t")
    return mti[:2] + str(int(mti[2]) + 1) + mti[3]


def kind_of(message: dict[str, str]) -> Kind | None:
    """The transaction kind of a request, or None if the link does not carry it."""
    mti = message["t"]
    processing_code = None if mti.startswith("08") else message.get("3")
    return _KIND_OF.get((mti, processing_code))


def check_required(kind: Kind, message: dict[str, str]) -> None:
    """Raise `MessageFormatError` naming the first required field that is missing."""
    for field in REQUIRED_FIELDS[kind]:
        if field not in message:
            raise MessageFormatError(
                f"field {field} is required in a {kind.value} request", field=field
            )


def method_of(message: dict[str, str]) -> Method:
    """The payment method from field 22; a code outside the table is a format error."""
    method = METHOD_OF_ENTRY_MODE.get(message.get("22", "")[:2])
    if method is None:
        raise MessageFormatError(
            f"field 22 entry mode {message.get('22')!r} is not known", field="22"
        )
    return method
