"""Card numbers: validation, brand, masking and the one-way reference that is stored instead."""

from pospay.cards.pan import (
    Brand,
    brand_of,
    luhn_valid,
    mask_customer,
    mask_merchant,
    pan_reference,
    validate_pan,
    with_check_digit,
)

__all__ = [
    "Brand",
    "brand_of",
    "luhn_valid",
    "mask_customer",
    "mask_merchant",
    "pan_reference",
    "validate_pan",
    "with_check_digit",
]
