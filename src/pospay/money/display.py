"""Locale-aware display of `Money` through Babel.

Babel decides symbols, grouping and separators; the number of decimals is always
the ISO 4217 exponent, because Babel's own digits differ for some currencies.
"""

from __future__ import annotations

from functools import cache, lru_cache

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern

from pospay.money.amount import Money, currency_exponent


def format_money(amount: Money, locale: str = "zh_CN") -> str:
    """Format for people: ``format_money(Money(1250, "CNY"))`` gives ``'¥12.50'``."""
    return _formatted(amount, locale)


# A receipt shows its amount on each copy and in each rendering: formatted once.
@lru_cache(maxsize=4096)
def _formatted(amount: Money, locale: str) -> str:
    text: str = _pattern(currency_exponent(amount.currency)).apply(
        amount.as_decimal(), _locale(locale), currency=amount.currency, currency_digits=False
    )
    return text


@cache
def _pattern(exponent: int) -> NumberPattern:
    """The currency pattern with exactly `exponent` decimals (Babel parses it once)."""
    return parse_pattern("¤#,##0" + (f".{'0' * exponent}" if exponent else ""))


@cache
def _locale(name: str) -> Locale:
    """Babel parses a locale name on every call it is given one: parse each name once."""
    return Locale.parse(name)
