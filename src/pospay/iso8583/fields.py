"""Formatting and reading the values of individual fields.

>>> amount_field(1250)
'000000001250'
>>> read_balance_field(balance_field(Money(12345, "CNY")))
Money(minor=12345, currency='CNY')
"""

from __future__ import annotations

from datetime import UTC, datetime

from pospay.errors import InvalidAmount, MessageFormatError
from pospay.money import Money, currency_numeric
from pospay.money.amount import currency_from_numeric

MAX_AMOUNT = 999_999_999_999


def amount_field(minor: int) -> str:
    """Field 4: twelve digits of minor units."""
    if not 0 <= minor <= MAX_AMOUNT:
        raise InvalidAmount(f"amount {minor} does not fit field 4 (0..{MAX_AMOUNT})")
    return f"{minor:012d}"


def transmission_field(moment: datetime) -> str:
    """Field 7: MMDDhhmmss in UTC."""
    return moment.astimezone(UTC).strftime("%m%d%H%M%S")


def local_time_field(moment: datetime) -> str:
    """Field 12: hhmmss."""
    return moment.strftime("%H%M%S")


def local_date_field(moment: datetime) -> str:
    """Field 13: MMDD."""
    return moment.strftime("%m%d")


def balance_field(balance: Money, *, account_type: str = "00", amount_type: str = "02") -> str:
    """Field 54, one 20-character balance: account type, amount type (02 available),
    currency numeric, sign (C credit / D debit) and twelve digits of minor units."""
    sign = "C" if balance.minor >= 0 else "D"
    currency = currency_numeric(balance.currency)
    return f"{account_type}{amount_type}{currency}{sign}{abs(balance.minor):012d}"


def read_balance_field(value: str) -> Money:
    """The first balance held in field 54."""
    if (
        len(value) < 20
        or not value[4:7].isdigit()
        or value[7] not in "CD"
        or not value[8:20].isdigit()
    ):
        raise MessageFormatError("field 54 does not hold a balance", field="54")
    minor = int(value[8:20])
    return Money(minor if value[7] == "C" else -minor, currency_from_numeric(value[4:7]))


def read_amount(message: dict[str, str], currency_field: str = "49") -> Money:
    """Fields 4 and 49 as `Money`; a missing or unknown field is a format error."""
    try:
        return Money(int(message["4"]), currency_from_numeric(message[currency_field]))
    except KeyError as missing:
        raise MessageFormatError(
            f"field {missing.args[0]} is required", field=str(missing.args[0])
        ) from None
