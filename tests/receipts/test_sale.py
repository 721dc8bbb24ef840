"""The merchant and customer receipts of an approved sale."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from pospay.receipts import CHINA_STANDARD_TIME, ReceiptCopy, build_sale_receipts

from .samples import CUSTOMER_DISPLAY, MERCHANT_DISPLAY, SAMPLE_SALE, TEST_PAN, sale_with


def test_the_merchant_copy_shows_first_six_last_four_and_the_customer_copy_last_four() -> None:
    merchant, customer = build_sale_receipts(SAMPLE_SALE)
    assert (merchant.copy, merchant.card_display) == (ReceiptCopy.MERCHANT, MERCHANT_DISPLAY)
    assert (customer.copy, customer.card_display) == (ReceiptCopy.CUSTOMER, CUSTOMER_DISPLAY)


def test_both_copies_are_originals_of_the_same_transaction() -> None:
    merchant, customer = build_sale_receipts(SAMPLE_SALE)
    assert merchant.reprint_number == customer.reprint_number == 0
    assert (
        dataclasses.replace(customer, copy=ReceiptCopy.MERCHANT, card_display=MERCHANT_DISPLAY)
        == merchant
    )


def test_times_are_shown_in_the_merchants_zone() -> None:
    merchant, _ = build_sale_receipts(SAMPLE_SALE)
    assert merchant.at == SAMPLE_SALE.at
    assert merchant.at.utcoffset() == timedelta(hours=8)
    assert (merchant.at.hour, merchant.at.minute) == (17, 30)
    assert CHINA_STANDARD_TIME.utcoffset(None) == timedelta(hours=8)


def test_another_zone_can_be_chosen() -> None:
    zone = timezone(timedelta(hours=-5))
    merchant, customer = build_sale_receipts(SAMPLE_SALE, zone=zone)
    assert merchant.at.hour == customer.at.hour == 4


def test_a_full_card_number_is_refused() -> None:
    with pytest.raises(ValueError, match="unmasked") as refusal:
        build_sale_receipts(sale_with(masked_pan=TEST_PAN))
    assert TEST_PAN not in str(refusal.value)


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_sale_receipts(sale_with(at=datetime(2026, 1, 1, 9, 30)))
