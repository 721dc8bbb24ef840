"""The issuer's screening rules, without a database: which refusal wins, in which order."""

from __future__ import annotations

import pytest

from pospay.issuer.card_file import CardOnFile
from pospay.issuer.decision import approval_code, screen
from pospay.issuer.test_cards import MAGIC_AMOUNTS, SINGLE_SALE_LIMIT
from pospay.transaction import Kind

from .support import sale

MAGIC = next(iter(MAGIC_AMOUNTS))


def on_file(*, expiry: str = "3012", status: str = "active") -> CardOnFile:
    return CardOnFile("card:x", expiry, status, "CNY")


def code(
    minor: int,
    card: CardOnFile | None,
    *,
    expiry: str = "3012",
    kind: Kind = Kind.SALE,
    currency: str = "CNY",
) -> str | None:
    request = sale("6212345600000012", expiry, minor, reference="r", kind=kind, currency=currency)
    refusal = screen(request, card)
    return None if refusal is None else refusal.code


def test_an_ordinary_sale_on_a_good_card_passes_to_the_ledger() -> None:
    assert code(100, on_file()) is None
    assert code(SINGLE_SALE_LIMIT, on_file()) is None


@pytest.mark.parametrize(
    ("minor", "card", "expected"),
    [
        (MAGIC, None, "14"),  # unknown card beats everything
        (MAGIC, on_file(status="restricted"), "62"),  # restricted beats expiry and amounts
        (MAGIC, on_file(status="restricted", expiry="2012"), "62"),
        (MAGIC, on_file(expiry="2012"), "54"),  # expired beats magic amounts
        (SINGLE_SALE_LIMIT + 1, on_file(expiry="2012"), "54"),
        (66661, on_file(), "61"),  # a magic amount, not the limit, says 61 here
        (SINGLE_SALE_LIMIT + 1, on_file(), "61"),
    ],
)
def test_refusals_come_in_the_documented_order(
    minor: int, card: CardOnFile | None, expected: str
) -> None:
    expiry = card.expiry if card is not None else "3012"
    assert code(minor, card, expiry=expiry) == expected


def test_the_card_is_valid_to_the_end_of_its_expiry_month() -> None:
    # The simulator's test clock says January 2026.
    assert code(100, on_file(expiry="2601"), expiry="2601") is None
    assert code(100, on_file(expiry="2512"), expiry="2512") == "54"


def test_an_expiry_that_does_not_match_the_card_declines_54() -> None:
    assert code(100, on_file(expiry="3012"), expiry="3011") == "54"


def test_unsupported_kinds_wrong_currency_and_zero_sales_are_refused() -> None:
    assert code(100, on_file(), kind=Kind.REFUND) == "12"
    assert code(100, on_file(), currency="USD") == "13"
    assert code(0, on_file()) == "13"
    assert code(0, on_file(), kind=Kind.BALANCE_INQUIRY) is None


def test_magic_amounts_need_two_minor_digits() -> None:
    card = CardOnFile("card:x", "3012", "active", "JPY")
    assert code(MAGIC, card, currency="JPY") is None


def test_approval_codes_are_six_characters_and_deterministic() -> None:
    first = approval_code("000000000001", b"key")
    assert len(first) == 6 and first.isalnum() and first.upper() == first
    assert approval_code("000000000001", b"key") == first
    assert approval_code("000000000002", b"key") != first
