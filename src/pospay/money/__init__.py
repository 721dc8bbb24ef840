"""Money: an integer count of minor units with its ISO 4217 currency."""

from pospay.money.amount import Money, currency_exponent, currency_numeric
from pospay.money.display import format_money

__all__ = ["Money", "currency_exponent", "currency_numeric", "format_money"]
