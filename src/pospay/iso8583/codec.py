"""Packing and unpacking messages with `SPEC`, and checking what pyiso8583 does not.

pyiso8583 checks lengths; this module also checks content: numeric fields hold only
digits, the MTI is four digits, and no field outside the layout is present. Every
fault is a `MessageFormatError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping

import iso8583
from pospay.errors import MessageFormatError
from pospay.iso8583.spec import SPEC

Message = dict[str, str]

# Fields whose content must be decimal digits.
NUMERIC_FIELDS = frozenset(
    {"2", "3", "4", "7", "11", "12", "13", "14", "15", "22", "23", "25", "32", "49", "70", "90"}
    | {"103"}
)
_TRACK2_CHARS = frozenset("0123456789=D")


def encode(message: Mapping[str, str]) -> bytes:
    """Pack `message` (field number -> value, "t" for the MTI) into bytes."""
    document = {key: value for key, value in message.items() if key not in ("p", "1")}
    _check_content(document)
    try:
        packed, _ = iso8583.encode(document, SPEC)
    except iso8583.EncodeError as error:
        raise MessageFormatError(str(error), field=error.field) from None
    except KeyError as error:
        raise MessageFormatError(
            f"field {error.args[0]} is not in the layout", field=str(error.args[0])
        ) from None
    return bytes(packed)


def decode(data: bytes) -> Message:
    """Unpack `data`; raise `MessageFormatError` (with `.field`, `.pos`, `.partial`) if unusable."""
    try:
        document, _ = iso8583.decode(bytearray(data), SPEC)
    except iso8583.DecodeError as error:
        decoded = {k: v for k, v in error.doc_dec.items() if isinstance(v, str)}
        safe = _safe(decoded)
        raise MessageFormatError(
            error.msg, field=error.field, pos=error.pos, partial=safe
        ) from None
    except KeyError as error:
        raise MessageFormatError(
            f"field {error.args[0]} is not in the layout", field=str(error.args[0])
        ) from None
    message: Message = {key: value for key, value in document.items() if key not in ("p", "1")}
    _check_content(message)
    return message


def _check_content(message: Mapping[str, str]) -> None:
    mti = message.get("t", "")
    if len(mti) != 4 or not mti.isdigit():
        raise MessageFormatError(f"MTI {mti!r} is not four digits", field="t")
    for field, value in message.items():
        if field in NUMERIC_FIELDS and not value.isdigit():
            raise MessageFormatError(
                f"field {field} must be digits", field=field, partial=_safe(message)
            )
        if field == "35" and not set(value) <= _TRACK2_CHARS:
            raise MessageFormatError(
                "field 35 holds characters outside track 2", field=field, partial=_safe(message)
            )


_ECHOABLE = ("t", "3", "4", "7", "11", "41", "42", "49")


def _safe(message: Mapping[str, str]) -> dict[str, str]:
    """The fields an error response may echo: never card data, and only values that
    pass their own checks, so that the echo itself can be packed."""
    echoable = (key for key in _ECHOABLE if key in message and _echoable(key, message[key]))
    return {key: message[key] for key in echoable}


def _echoable(field: str, value: str) -> bool:
    if SPEC[field]["len_type"] == 0 and len(value) != SPEC[field]["max_len"]:
        return False
    return value.isdigit() if field == "t" or field in NUMERIC_FIELDS else True
