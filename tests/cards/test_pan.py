"""Card numbers: Luhn, brand, masking, references."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pospay.cards import (
    Brand,
    brand_of,
    luhn_valid,
    mask_customer,
    mask_merchant,
    pan_reference,
    validate_pan,
)
from pospay.errors import InvalidCard
from pospay.issuer.test_cards import TEST_CARDS, UNKNOWN_CARD_PAN, TestCard


@pytest.mark.parametrize("card", TEST_CARDS, ids=lambda card: card.pan[-4:])
def test_test_cards_are_luhn_valid_and_in_their_brand_range(card: TestCard) -> None:
    pan = card.pan
    assert luhn_valid(pan)
    assert brand_of(pan) is card.brand


def test_unknown_card_is_luhn_valid() -> None:
    assert luhn_valid(UNKNOWN_CARD_PAN)


@pytest.mark.parametrize(
    ("pan", "fault"),
    [("4111111111111112", "Luhn"), ("41111111", "13 to 19"), ("4111-1111-1111-1111", "digits")],
)
def test_validate_names_the_fault(pan: str, fault: str) -> None:
    with pytest.raises(InvalidCard, match=fault):
        validate_pan(pan)


@given(st.text(alphabet="0123456789", min_size=13, max_size=19))
def test_masks_show_at_most_first_six_and_last_four(pan: str) -> None:
    merchant = mask_merchant(pan)
    customer = mask_customer(pan)
    assert len(merchant) == len(customer) == len(pan)
    assert merchant[:6] == pan[:6] and merchant[-4:] == pan[-4:]
    assert set(merchant[6:-4]) <= {"*"}
    assert set(customer[:-4]) <= {"*"} and customer[-4:] == pan[-4:]


def test_reference_is_keyed() -> None:
    pan = TEST_CARDS[0].pan
    assert pan_reference(pan, b"k1") == pan_reference(pan, b"k1")
    assert pan_reference(pan, b"k1") != pan_reference(pan, b"k2")
    assert pan not in pan_reference(pan, b"k1")


def test_brands() -> None:
    assert brand_of("6212345600000012") is Brand.UNIONPAY
    assert brand_of("4000200000000016") is Brand.VISA
    assert brand_of("2223000000000007") is Brand.MASTERCARD
    assert brand_of("3530111333300000") is Brand.UNKNOWN
