"""Track 2 equivalent data (field 35): ``PAN=YYMM`` + service code + discretionary data.

Track 2 is cardholder data of the most sensitive kind (with it a card can be cloned):
it lives in memory for one attempt, travels in field 35, and is never stored or logged
by the terminal, the host or the issuer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pospay.errors import MessageFormatError

SEPARATOR = "="
# 2: international card with a chip; 0: normal authorisation; 1: no restrictions.
TEST_SERVICE_CODE = "201"


@dataclass(frozen=True, slots=True)
class Track2:
    pan: str = field(repr=False)
    expiry: str  # YYMM
    service_code: str
    discretionary: str = field(default="", repr=False)


def track2_equivalent(pan: str, expiry: str, service_code: str = TEST_SERVICE_CODE) -> str:
    """The track 2 equivalent of a card, with five zero digits of discretionary data.

    >>> track2_equivalent("4000200000000016", "2811")
    '4000200000000016=281120100000'
    """
    return f"{pan}{SEPARATOR}{expiry}{service_code}00000"


def read_track2(value: str) -> Track2:
    """Field 35 taken apart; `MessageFormatError` (field 35) if it is not track 2."""
    pan, separator, rest = value.partition(SEPARATOR)
    if (
        not separator
        or not 12 <= len(pan) <= 19
        or not pan.isdigit()
        or len(rest) < 7
        or not rest.isdigit()
    ):
        raise MessageFormatError("field 35 is not track 2 equivalent data", field="35")
    return Track2(pan, rest[:4], rest[4:7], rest[7:])
