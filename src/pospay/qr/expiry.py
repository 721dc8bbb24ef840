"""Until when a merchant-presented code may be paid, by the rules of the scheme that made it.

EMVCo's payload has no expiry field: a scheme that wants one keeps it in a field of its own.
These are the schemes whose expiry fields are public and honoured here; a code is expired
from its instant on.

- pospay: template 80 whose sub-id 00 is `COM.POSPAY.QR`; its sub-id 01, the instant in
  UTC as `YYYYMMDDhhmmss`.
- KHQR (Bakong, Cambodia): a code whose country (58) is `KH`; sub-id 01 of its timestamp
  template 99 (sub-id 00 is the creation time), milliseconds since the Unix epoch, 13 digits.
- PayNow (Singapore): a merchant account template (26–51) whose sub-id 00 is `SG.PAYNOW`;
  its sub-id 04, in Singapore time, `YYYYMMDD` (valid through that day) or `YYYYMMDDhhmmss`.

A recognised field that cannot be read is an `ExpiryFieldError`: a code whose expiry is
unknown is not one to take payment on. A KHQR code without 99.01 (a static one, or one made
before KHQR had expirations) and a PayNow template without 04 set no expiry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from pospay.qr.emvco import (
    COUNTRY,
    EXPIRY,
    EXPIRY_FORMAT,
    POSPAY_GUI,
    POSPAY_TEMPLATE,
    Field,
    is_merchant_account,
    tlv,
)

KHQR_TIMESTAMPS = "99"
KHQR_EXPIRATION = "01"  # sub-id of 99; 00 is the creation timestamp
PAYNOW_GUI = "SG.PAYNOW"
PAYNOW_EXPIRY = "04"  # sub-id of the PayNow merchant account template
SINGAPORE = timezone(timedelta(hours=8), "SGT")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Expiry:
    """The instant (aware, UTC) from which `scheme`'s field `tag`.`sub_id` says the code is
    no longer to be paid."""

    scheme: str
    tag: str
    sub_id: str
    at: datetime

    @property
    def field(self) -> str:
        return f"{self.tag}.{self.sub_id}"


class ExpiryFieldError(ValueError):
    """A recognised expiry field that cannot be read: `.tag` is its top-level field,
    `.found` the text found, `.why` what is wrong with it."""

    def __init__(self, scheme: str, tag: str, found: str, why: str) -> None:
        super().__init__(f"{scheme} expiry: {why}")
        self.scheme = scheme
        self.tag = tag
        self.found = found
        self.why = why


def expiries(fields: Iterable[Field]) -> tuple[Expiry, ...]:
    """Every expiry the code's recognised schemes set, or `ExpiryFieldError`."""
    by_tag = {f.tag: f for f in fields}
    return tuple(found for scheme in _SCHEMES for found in scheme(by_tag))


def _pospay(by_tag: dict[str, Field]) -> Iterator[Expiry]:
    template = by_tag.get(POSPAY_TEMPLATE)
    if template is None:
        return
    if not template.children and template.value.startswith(tlv("00", POSPAY_GUI)):
        raise ExpiryFieldError(
            "pospay", POSPAY_TEMPLATE, template.value, "its fields cannot be read"
        )
    if template.child("00") != POSPAY_GUI:
        return  # another scheme's template 80
    text = template.child(EXPIRY)
    if text is not None:
        at = _instant(text, 14, EXPIRY_FORMAT, UTC)
        if at is None:
            raise ExpiryFieldError("pospay", POSPAY_TEMPLATE, text, "80.01 is not YYYYMMDDhhmmss")
        yield Expiry("pospay", POSPAY_TEMPLATE, EXPIRY, at)


def _khqr(by_tag: dict[str, Field]) -> Iterator[Expiry]:
    country, template = by_tag.get(COUNTRY), by_tag.get(KHQR_TIMESTAMPS)
    if country is None or country.value.upper() != "KH" or template is None:
        return
    if template.value and not template.children:
        raise ExpiryFieldError("KHQR", KHQR_TIMESTAMPS, template.value, "its fields cannot be read")
    text = template.child(KHQR_EXPIRATION)
    if text is not None:
        if not re.fullmatch(r"[0-9]{13}", text):
            raise ExpiryFieldError(
                "KHQR",
                KHQR_TIMESTAMPS,
                text,
                "99.01 is not 13 digits (milliseconds since the epoch)",
            )
        at = _EPOCH + timedelta(milliseconds=int(text))
        yield Expiry("KHQR", KHQR_TIMESTAMPS, KHQR_EXPIRATION, at)


def _paynow(by_tag: dict[str, Field]) -> Iterator[Expiry]:
    for field in by_tag.values():
        if not is_merchant_account(field.tag) or field.child("00") != PAYNOW_GUI:
            continue
        text = field.child(PAYNOW_EXPIRY)
        if text is None:
            continue
        day = _instant(text, 8, "%Y%m%d", SINGAPORE)
        at = (
            day + timedelta(days=1)
            if day is not None
            else _instant(text, 14, "%Y%m%d%H%M%S", SINGAPORE)
        )
        if at is None:
            raise ExpiryFieldError(
                "PayNow", field.tag, text, f"{field.tag}.04 is not YYYYMMDD or YYYYMMDDhhmmss"
            )
        yield Expiry("PayNow", field.tag, PAYNOW_EXPIRY, at)


def _instant(text: str, digits: int, pattern: str, zone: tzinfo) -> datetime | None:
    """`text` read by `pattern` in `zone`, as UTC; None unless it is exactly `digits` digits
    of a real date and time."""
    if not re.fullmatch(f"[0-9]{{{digits}}}", text):
        return None
    try:
        return datetime.strptime(text, pattern).replace(tzinfo=zone).astimezone(UTC)
    except ValueError:
        return None


_SCHEMES: tuple[Callable[[dict[str, Field]], Iterator[Expiry]], ...] = (_pospay, _khqr, _paynow)
