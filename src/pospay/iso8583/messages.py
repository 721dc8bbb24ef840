"""Which messages exist on the link, as data: MTI and processing code to transaction kind,
the fields each request must carry, and the entry modes of field 22.

A reversal (0400) carries the processing code, amount and currency of the attempt it
undoes, its own STAN and transmission time, the reason in field 39 and the original's
key in field 90; never the card number.

A follow-up (void, refund, pre-authorisation completion and cancel) names its original
by the original's RRN in field 37 and carries no card data: the host finds the card
through the original. A void or a cancel is always for the original's full amount. A
transfer carries the source card in field 2 and the target card in field 103.

A status query (0600) names an earlier request the way a reversal does (field 90, with
that request's processing code, amount and currency) and asks the host for its outcome;
it moves nothing.

A prepaid card (`pospay.prepaid`) pays, is refunded and is asked for its balance by the
sale, refund and balance inquiry of any card; its programme operations are card
requests of their own processing codes: issue, activate, freeze and unfreeze (0100, no
amount: they move no money) and the top-ups (0200), a top-up by card naming in field 37
the RRN of the card sale that paid for it.
"""

from __future__ import annotations

from pospay.errors import MessageFormatError
from pospay.transaction import Kind, Method
from pospay.transaction.follow_ups import ORIGINAL_KIND

SIGN_IN_CODE = "001"  # field 70, network management information code

PROCESSING_CODES: dict[Kind, str] = {
    Kind.SALE: "000000",
    Kind.BALANCE_INQUIRY: "310000",
    Kind.PREAUTH: "030000",
    Kind.PREAUTH_COMPLETION: "000000",
    Kind.VOID: "200000",
    Kind.REFUND: "200000",
    Kind.PREAUTH_CANCEL: "200000",
    Kind.TRANSFER: "400000",
    # The prepaid programme: 21 is a deposit, a credit to the card's account (from cash
    # "00", from a card "30"); the 9x codes are ISO 8583's private use.
    Kind.PREPAID_TOP_UP: "210000",
    Kind.PREPAID_CARD_TOP_UP: "213000",
    Kind.PREPAID_ISSUE: "900000",
    Kind.PREPAID_ACTIVATE: "910000",
    Kind.PREPAID_FREEZE: "940000",
    Kind.PREPAID_UNFREEZE: "950000",
}

REQUEST_MTI: dict[Kind, str] = {
    Kind.SIGN_IN: "0800",
    Kind.SALE: "0200",
    Kind.BALANCE_INQUIRY: "0200",
    Kind.VOID: "0200",
    Kind.REFUND: "0220",
    Kind.PREAUTH: "0100",
    Kind.PREAUTH_COMPLETION: "0220",
    Kind.PREAUTH_CANCEL: "0100",
    Kind.TRANSFER: "0200",
    Kind.REVERSAL: "0400",
    Kind.SETTLEMENT: "0500",
    Kind.BATCH_UPLOAD: "0320",
    Kind.STATUS_QUERY: "0600",
    Kind.PREPAID_ISSUE: "0100",
    Kind.PREPAID_ACTIVATE: "0100",
    Kind.PREPAID_FREEZE: "0100",
    Kind.PREPAID_UNFREEZE: "0100",
    Kind.PREPAID_TOP_UP: "0200",
    Kind.PREPAID_CARD_TOP_UP: "0200",
}

# Field 3 of a settlement (0500): the first try, and the try after a batch upload.
SETTLEMENT_CODE = "920000"
SETTLEMENT_AFTER_UPLOAD_CODE = "960000"

_CARD_REQUEST = ("2", "3", "7", "11", "12", "13", "14", "22", "25", "41", "42", "49", "60")
# The prepaid programme's operations on a card that move no money.
PREPAID_CARD_OPERATIONS = (
    Kind.PREPAID_ISSUE,
    Kind.PREPAID_ACTIVATE,
    Kind.PREPAID_FREEZE,
    Kind.PREPAID_UNFREEZE,
)
# The programme's operations, all of them card requests (field 2).
PREPAID_OPERATIONS = (*PREPAID_CARD_OPERATIONS, Kind.PREPAID_TOP_UP, Kind.PREPAID_CARD_TOP_UP)
# A follow-up names its original by RRN (field 37) instead of carrying the card.
_FOLLOW_UP = ("3", "4", "7", "11", "12", "13", "25", "37", "41", "42", "49", "60")

# A QR sale (entry mode 032 or 812) carries field 48 instead of a card (`iso8583.qr_data`).
QR_SALE_REQUIRED = ("3", "4", "7", "11", "12", "13", "22", "25", "41", "42", "48", "49", "60")

REQUIRED_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.SIGN_IN: ("7", "11", "41", "42", "60", "70"),
    Kind.SALE: (*_CARD_REQUEST, "4"),
    Kind.BALANCE_INQUIRY: _CARD_REQUEST,
    Kind.PREAUTH: (*_CARD_REQUEST, "4"),
    Kind.TRANSFER: (*_CARD_REQUEST, "4", "103"),
    **{kind: _FOLLOW_UP for kind in ORIGINAL_KIND},
    Kind.REVERSAL: ("3", "4", "7", "11", "39", "41", "42", "49", "60", "90"),
    Kind.SETTLEMENT: ("3", "7", "11", "41", "42", "49", "60", "63"),
    Kind.BATCH_UPLOAD: ("3", "4", "7", "11", "41", "42", "49", "60", "90"),
    Kind.STATUS_QUERY: ("3", "4", "7", "11", "41", "42", "49", "60", "90"),
    **{kind: _CARD_REQUEST for kind in PREPAID_CARD_OPERATIONS},
    Kind.PREPAID_TOP_UP: (*_CARD_REQUEST, "4"),
    Kind.PREPAID_CARD_TOP_UP: (*_CARD_REQUEST, "4", "37"),
}

# Card requests that carry no amount (field 4): they move no money.
AMOUNTLESS = frozenset({Kind.BALANCE_INQUIRY, *PREPAID_CARD_OPERATIONS})

# Field 39 of an 0400: why the terminal reverses.
REVERSAL_NO_RESPONSE = "98"  # no (usable) response within the timeout
REVERSAL_TERMINAL_RESTART = "06"  # the terminal restarted with the attempt in flight
REVERSAL_BAD_MAC = "A0"  # reserved: the response failed its MAC check
# The answer approved a chip attempt but the card found its ARPC (tag 91) wrong or missing.
REVERSAL_ISSUER_AUTH_FAILED = "A1"

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
    # QR codes: 03 bar code read (the customer's payment code, scanned); 81 paid on the
    # customer's own device (it scanned the terminal's QR). 2: the terminal takes no PIN,
    # the wallet asks for its password on the phone.
    Method.QR_CUSTOMER: "032",
    Method.QR_MERCHANT: "812",
}
QR_METHODS = frozenset({Method.QR_CUSTOMER, Method.QR_MERCHANT})
METHOD_OF_ENTRY_MODE: dict[str, Method] = {code[:2]: method for method, code in ENTRY_MODES.items()}

_KIND_OF: dict[tuple[str, str | None], Kind] = {
    ("0800", None): Kind.SIGN_IN,
    ("0200", PROCESSING_CODES[Kind.SALE]): Kind.SALE,
    ("0200", PROCESSING_CODES[Kind.BALANCE_INQUIRY]): Kind.BALANCE_INQUIRY,
    **{
        (REQUEST_MTI[kind], PROCESSING_CODES[kind]): kind
        for kind in (*ORIGINAL_KIND, Kind.PREAUTH, Kind.TRANSFER, *PREPAID_OPERATIONS)
    },
    # A reversal carries the processing code of the attempt it undoes.
    **{("0400", code): Kind.REVERSAL for code in PROCESSING_CODES.values()},
    ("0500", SETTLEMENT_CODE): Kind.SETTLEMENT,
    ("0500", SETTLEMENT_AFTER_UPLOAD_CODE): Kind.SETTLEMENT,
    # A batch upload carries the processing code of the attempt it reports.
    **{("0320", code): Kind.BATCH_UPLOAD for code in PROCESSING_CODES.values()},
    # So does a status query, of the attempt it asks about.
    **{("0600", code): Kind.STATUS_QUERY for code in PROCESSING_CODES.values()},
}

# The kinds a journal row can hold: what field 90 of a reversal or status query may name.
_JOURNALED = frozenset(PROCESSING_CODES)


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


def original_kind(mti: str, processing_code: str) -> Kind | None:
    """The kind of the card request field 90 names (its MTI, with the processing code the
    reversal or status query carries), or None when the link carries no such request.

    >>> original_kind("0200", "000000")
    <Kind.SALE: 'sale'>
    """
    kind = _KIND_OF.get((mti, processing_code))
    return kind if kind in _JOURNALED else None


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
