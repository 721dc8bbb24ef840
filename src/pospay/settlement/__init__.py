"""End-of-day settlement: what a batch totals to, as both sides count it.

The terminal and the host each total a batch from their own journal with the same
rules (`totals.py`); the terminal sends its totals in a 0500, the host compares them
with its own and answers balanced (00) or unbalanced (95). See docs/iso8583.md.
"""

from pospay.settlement.totals import (
    CREDIT_KINDS,
    DEBIT_KINDS,
    SETTLED_BY_KIND,
    BatchTotals,
    KindTotal,
    by_kind,
    counted,
    read_totals_field,
    totals_field,
    totals_of,
)

__all__ = [
    "CREDIT_KINDS",
    "DEBIT_KINDS",
    "SETTLED_BY_KIND",
    "BatchTotals",
    "KindTotal",
    "by_kind",
    "counted",
    "read_totals_field",
    "totals_field",
    "totals_of",
]
