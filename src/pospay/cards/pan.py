"""The primary account number (PAN) and the only forms of it pospay keeps.

A full PAN lives in memory for the duration of one authorisation and nowhere else.
Journals store the masked form (first 6 / last 4) and a keyed one-way reference
(`pan_reference`) that lets the same card be recognised without being recoverable.

>>> mask_merchant("6212345678901232")
'621234******1232'
>>> mask_customer("6212345678901232")
'************1232'
>>> luhn_valid("4111111111111111")
True
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from pospay.errors import InvalidCard


class Brand(StrEnum):
    UNIONPAY = "UnionPay"
    VISA = "Visa"
    MASTERCARD = "Mastercard"
    UNKNOWN = "Unknown"


def luhn_valid(pan: str) -> bool:
    """Whether `pan` is all digits and passes the Luhn (mod 10) check."""
    if not pan.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(pan)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def with_check_digit(body: str) -> str:
    """`body` (digits) followed by its Luhn check digit: a card number from its body.

    >>> with_check_digit("889100000000001")
    '8891000000000013'
    """
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return body + digit
    raise InvalidCard("a card number body is digits only")


def validate_pan(pan: str) -> str:
    """Return `pan` if it is 13 to 19 digits and Luhn-valid; else raise `InvalidCard`."""
    if not pan.isdigit():
        raise InvalidCard("card number must be digits only")
    if not 13 <= len(pan) <= 19:
        raise InvalidCard(f"card number must have 13 to 19 digits, not {len(pan)}")
    if not luhn_valid(pan):
        raise InvalidCard("card number fails the Luhn check")
    return pan


def brand_of(pan: str) -> Brand:
    """The card brand from the issuer identification number ranges."""
    if pan.startswith("62"):
        return Brand.UNIONPAY
    if pan.startswith("4"):
        return Brand.VISA
    prefix2 = int(pan[:2]) if len(pan) >= 2 and pan[:2].isdigit() else 0
    prefix4 = int(pan[:4]) if len(pan) >= 4 and pan[:4].isdigit() else 0
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return Brand.MASTERCARD
    return Brand.UNKNOWN


def mask_merchant(pan: str) -> str:
    """First 6 and last 4 digits, the most any display or receipt may show."""
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def mask_customer(pan: str) -> str:
    """Last 4 digits only, for the customer's copy."""
    return "*" * (len(pan) - 4) + pan[-4:]


def pan_reference(pan: str, key: bytes) -> str:
    """A keyed one-way reference (HMAC-SHA256, hex, 32 chars) that identifies a card.

    The key belongs to whoever stores the reference (host, issuer); without it the
    reference cannot be tested against guessed PANs.
    """
    return hmac.new(key, pan.encode("ascii"), hashlib.sha256).hexdigest()[:32]
