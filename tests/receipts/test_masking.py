"""The card number on a receipt: masked forms only, derived from first 6 / last 4."""

from __future__ import annotations

import pytest

from pospay.receipts import customer_display
from pospay.receipts.masking import check_customer_display, check_merchant_display

from .samples import CUSTOMER_DISPLAY, MERCHANT_DISPLAY, TEST_PAN


@pytest.mark.parametrize(
    ("merchant", "customer"),
    [
        (MERCHANT_DISPLAY, CUSTOMER_DISPLAY),
        ("400020***0016", "*********0016"),  # 13 digits
        ("622588*********0027", "***************0027"),  # 19 digits
    ],
)
def test_customer_display_keeps_the_last_four_digits_only(merchant: str, customer: str) -> None:
    assert customer_display(merchant) == customer
    assert check_customer_display(customer) == customer


@pytest.mark.parametrize(
    "not_masked",
    [
        TEST_PAN,
        TEST_PAN + " ",
        "6212 34** **** 0012",
        "621234******001",  # last 3 only
        "62123456******12",  # first 8 / last 2
        "621234**0012",  # too short for a PAN
        "621234**********0012",  # too long for a PAN
        "621234######0012",
        CUSTOMER_DISPLAY,  # already the customer's form: not first 6 / last 4
        "",
    ],
)
def test_anything_but_the_first_six_last_four_form_is_refused(not_masked: str) -> None:
    with pytest.raises(ValueError, match="card number") as refusal:
        customer_display(not_masked)
    assert TEST_PAN not in str(refusal.value), "the refusal must not repeat a card number"


def test_a_full_card_number_is_named_as_such() -> None:
    with pytest.raises(ValueError, match="unmasked"):
        check_merchant_display(TEST_PAN)


@pytest.mark.parametrize("shown", [MERCHANT_DISPLAY, TEST_PAN, "*****0012", "****************"])
def test_the_customer_form_shows_nothing_but_the_last_four(shown: str) -> None:
    with pytest.raises(ValueError, match="last 4 digits only"):
        check_customer_display(shown)
