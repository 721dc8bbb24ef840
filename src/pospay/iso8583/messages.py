"""Which messages exist on the link, as data: MTI and processing code to transaction kind,
the fields each request must carry, and the entry modes of field 22.

A reversal (0400) carries the processing code, amount and currency of the attempt it
undoes, its own STAN and transmission time, the reason in field 39 and the original's
key in field 90; never the card number.
"""

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
    Kind.REVERSAL: "0400",
}

_CARD_REQUEST = ("2", "3", "7", "11", "12", "13", "14", "22", "25", "41", "42", "49", "60")

REQUIRED_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.SIGN_IN: ("7", "11", "41", "42", "60", "70"),
    Kind.SALE: (*_CARD_REQUEST, "4"),
    Kind.BALANCE_INQUIRY: _CARD_REQUEST,
    Kind.REVERSAL: ("3", "4", "7", "11", "39", "41", "42", "49", "60", "90"),
}

# Field 39 of an 0400: why the terminal reverses.
REVERSAL_NO_RESPONSE = "98"  # no (usable) response within the timeout
REVERSAL_TERMINAL_RESTART = "06"  # the terminal restarted with the attempt in flight
REVERSAL_BAD_MAC = "A0"  # reserved: the response failed its MAC check

_INSTITUTION_ZEROS = "0" * 11


def original_data_field(mti: str, stan: str, transmission_at: str) -> str:
    """Field 90 (n42): original MTI, STAN and transmission time, then the acquiring and
    forwarding institution ids, both eleven zeros on this link.

    >>> original_data_field("0200", "000123", "1126101010")[:20]
    '02000001231126101010'
    """
    return f"{mti}{stan}{transmission_at}{_INSTITUTION_ZEROS}{_INSTITUTION_ZEROS}"


def read_original_data_field(value: str) -> tuple[str, str, str]:
    """The original MTI, STAN and transmission time held in field 90."""
    if len(value) != 42 or not value.isdigit():
        raise MessageFormatError("field 90 must be 42 digits", field="90")
    return value[:4], value[4:10], value[10:20]


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
    # A reversal carries the processing code of the attempt it undoes.
    **{("0400", code): Kind.REVERSAL for code in PROCESSING_CODES.values()},
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
