"""What a `Receipt` refuses to be, whoever builds it."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from pospay.receipts import Receipt, ReceiptCopy, build_sale_receipts

from .samples import CUSTOMER_DISPLAY, MERCHANT_DISPLAY, SAMPLE_SALE, TEST_PAN

MERCHANT, CUSTOMER = build_sale_receipts(SAMPLE_SALE)


def changed(receipt: Receipt, **changes: Any) -> Receipt:
    return dataclasses.replace(receipt, **changes)


@pytest.mark.parametrize(
    ("receipt", "card_display"),
    [
        (MERCHANT, TEST_PAN),
        (CUSTOMER, TEST_PAN),
        (CUSTOMER, MERCHANT_DISPLAY),  # the customer copy never shows the first 6
        (MERCHANT, CUSTOMER_DISPLAY),
    ],
)
def test_the_card_number_must_be_masked_for_its_copy(receipt: Receipt, card_display: str) -> None:
    with pytest.raises(ValueError, match="card number"):
        changed(receipt, card_display=card_display)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("batch", "1"),
        ("voucher", "00012a"),
        ("stan", "0001234"),
        ("merchant_id", "89811015411000"),
        ("terminal_id", "1000000１"),  # full-width digit
        ("rrn", "60101170012"),
        ("auth_code", "58301"),
    ],
)
def test_identifiers_keep_their_iso8583_shapes(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        changed(MERCHANT, **{field: value})


@pytest.mark.parametrize("field", ["merchant_name", "operator", "card_brand", "reference"])
@pytest.mark.parametrize("control", ["\x1bi", "\x1bp\x00\x19\xfa", "\n", "\u2028", "\u200b"])
def test_text_that_a_printer_would_obey_is_refused(field: str, control: str) -> None:
    with pytest.raises(ValueError, match=f"{field} contains the unprintable"):
        changed(MERCHANT, **{field: f"abc{control}"})


def test_an_empty_merchant_name_is_refused() -> None:
    with pytest.raises(ValueError, match="merchant_name is empty"):
        changed(MERCHANT, merchant_name="  ")


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        changed(MERCHANT, at=datetime(2026, 1, 1, 17, 30))


@pytest.mark.parametrize("reprint_number", [-1, True])
def test_reprint_numbers_count_from_zero(reprint_number: int) -> None:
    with pytest.raises(ValueError, match="reprint_number"):
        changed(MERCHANT, reprint_number=reprint_number)


def test_a_reprint_is_the_same_receipt_with_a_number() -> None:
    reprint = changed(CUSTOMER, reprint_number=2)
    assert reprint.copy is ReceiptCopy.CUSTOMER
    assert changed(reprint, reprint_number=0) == CUSTOMER


def test_auth_code_may_be_absent() -> None:
    assert changed(MERCHANT, auth_code=None).auth_code is None
