"""The card number as a receipt may show it, and nothing more.

The terminal journal only ever holds the masked first 6 / last 4 form, so receipts are
built from that form, never from a PAN. These checks are the last safety net before
paper: anything that is not exactly the masked form for its copy is refused, and the
refusal never repeats the offending value (it might be a full card number).

>>> customer_display("621234******0012")
'************0012'
"""

from __future__ import annotations

import re

# A PAN has 13 to 19 digits, so 3 to 9 of them are hidden on the merchant copy
# and 9 to 15 on the customer copy.
_MERCHANT_FORM = re.compile(r"[0-9]{6}\*{3,9}[0-9]{4}")
_CUSTOMER_FORM = re.compile(r"\*{9,15}[0-9]{4}")


def check_merchant_display(display: str) -> str:
    """Return `display` if it is the first 6 / last 4 form; raise `ValueError` otherwise."""
    if display.isdigit():
        raise ValueError(
            "card number looks unmasked (all digits); receipts take only the first 6 / last 4 form"
        )
    if not _MERCHANT_FORM.fullmatch(display):
        raise ValueError(
            f"card number is not in the first 6 / last 4 form ({len(display)} characters)"
        )
    return display


def check_customer_display(display: str) -> str:
    """Return `display` if it shows the last 4 digits only; raise `ValueError` otherwise."""
    if not _CUSTOMER_FORM.fullmatch(display):
        raise ValueError(
            "customer copy card number must show the last 4 digits only "
            f"({len(display)} characters)"
        )
    return display


def customer_display(merchant_display: str) -> str:
    """The customer copy's form (last 4 only) of a first 6 / last 4 masked card number."""
    check_merchant_display(merchant_display)
    return "*" * (len(merchant_display) - 4) + merchant_display[-4:]
