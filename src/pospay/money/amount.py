"""The `Money` value: minor units and currency, never a float.

Exponents and numeric codes come from the `iso4217` package, which follows the
ISO 4217 maintenance agency's list (Babel's digits differ for some currencies).

>>> Money(1250, "CNY").minor
1250
>>> Money.parse("12.50", "CNY")
Money(minor=1250, currency='CNY')
>>> Money.parse("1000", "JPY").minor
1000
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import iso4217

from pospay.errors import InvalidAmount


@cache
def _currency(code: str) -> iso4217.Currency:
    try:
        return iso4217.Currency(code.upper())
    except ValueError:
        raise InvalidAmount(f"unknown ISO 4217 currency {code!r}") from None


def currency_exponent(code: str) -> int:
    """Number of minor-unit digits of `code` (2 for CNY, 0 for JPY, 3 for KWD)."""
    exponent = _currency(code).exponent
    return int(exponent) if exponent is not None else 0


def currency_numeric(code: str) -> str:
    """The three-digit ISO 4217 numeric code ("156" for CNY), as used in ISO 8583 field 49."""
    return f"{int(_currency(code).number):03d}"


@cache
def currency_from_numeric(numeric: str) -> str:
    """The alphabetic code for a three-digit numeric code ("156" -> "CNY")."""
    try:
        wanted = int(numeric)
    except ValueError:
        raise InvalidAmount(f"currency code {numeric!r} is not numeric") from None
    for currency in iso4217.Currency:
        if currency.number == wanted:
            return str(currency.code)
    raise InvalidAmount(f"unknown ISO 4217 numeric currency {numeric!r}")


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in minor units of an ISO 4217 currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise InvalidAmount(
                f"amount must be an integer count of minor units, not {self.minor!r}"
            )
        _currency(self.currency)
        if self.currency != self.currency.upper():
            object.__setattr__(self, "currency", self.currency.upper())

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse a decimal major-unit string ("12.50") without ever touching a float."""
        exponent = currency_exponent(currency)
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise InvalidAmount(f"{text!r} is not a decimal amount") from None
        scaled = value.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise InvalidAmount(f"{text!r} has more than {exponent} decimal places for {currency}")
        return cls(int(scaled), currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidAmount(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def as_decimal(self) -> Decimal:
        """The amount in major units, exact."""
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def __str__(self) -> str:
        exponent = currency_exponent(self.currency)
        return f"{self.currency} {self.as_decimal():.{exponent}f}"
