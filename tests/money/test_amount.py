"""Money: integer minor units with ISO 4217 exponents."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pospay.errors import InvalidAmount
from pospay.money import Money, currency_exponent, currency_numeric, format_money


@pytest.mark.parametrize(
    ("code", "exponent"), [("CNY", 2), ("JPY", 0), ("KWD", 3), ("USD", 2), ("CLF", 4)]
)
def test_exponents_come_from_iso_4217(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


def test_numeric_code_for_field_49() -> None:
    assert currency_numeric("CNY") == "156"
    assert currency_numeric("JPY") == "392"


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [("12.50", "CNY", 1250), ("1000", "JPY", 1000), ("1.234", "KWD", 1234)],
)
def test_parse_is_exact(text: str, code: str, minor: int) -> None:
    assert Money.parse(text, code) == Money(minor, code)


@pytest.mark.parametrize(("text", "code"), [("12.505", "CNY"), ("1.5", "JPY"), ("abc", "CNY")])
def test_parse_refuses_what_does_not_fit(text: str, code: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.parse(text, code)


def test_floats_and_unknown_currencies_are_refused() -> None:
    with pytest.raises(InvalidAmount):
        Money(12.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount, match="XYZ"):
        Money(1, "XYZ")


def test_currencies_do_not_mix() -> None:
    with pytest.raises(InvalidAmount):
        Money(1, "CNY") + Money(1, "USD")


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_addition_is_exact(a: int, b: int) -> None:
    assert (Money(a, "CNY") + Money(b, "CNY")).minor == a + b
    assert (Money(a, "CNY") - Money(b, "CNY")).minor == a - b


def test_display_uses_iso_digits_not_babel_digits() -> None:
    assert format_money(Money(1250, "CNY")) == "¥12.50"
    assert format_money(Money(1000, "JPY"), "en_US") == "¥1,000"
    # ISO 4217 gives KWD three decimals; the display keeps all three.
    assert format_money(Money(1234567, "KWD"), "en_US").endswith("1,234.567")
