"""Locale-aware display of `Money` through Babel.

Babel decides symbols, grouping and separators; the number of decimals is always
the ISO 4217 exponent, because Babel's own digits differ for some currencies.
"""

from __future__ import annotations

from functools import cache

from babel import Locale
from babel.numbers import format_currency

from pospay.money.amount import Money, currency_exponent


def format_money(amount: Money, locale: str = "zh_CN") -> str:
    """Format for people: ``format_money(Money(1250, "CNY"))`` gives ``'¥12.50'``."""
    exponent = currency_exponent(amount.currency)
    pattern_decimals = "0" * exponent
    pattern = "¤#,##0" + (f".{pattern_decimals}" if exponent else "")
    return format_currency(
        amount.as_decimal(),
        amount.currency,
        format=pattern,
        locale=_locale(locale),
        currency_digits=False,
    )


@cache
def _locale(name: str) -> Locale:
    """Babel parses a locale name on every call it is given one: parse each name once."""
    return Locale.parse(name)
