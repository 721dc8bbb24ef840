"""Batch totals: which attempts count on which side, and field 63."""

from __future__ import annotations

import pytest

from pospay.errors import MessageFormatError
from pospay.settlement import BatchTotals, by_kind, read_totals_field, totals_field, totals_of
from pospay.transaction import Kind, State


def test_debits_are_sales_and_completions_credits_are_refunds_voids_excluded() -> None:
    rows = [
        (Kind.SALE, State.APPROVED, 1000),
        (Kind.SALE, State.SETTLED, 200),
        (Kind.SALE, State.REFUNDED, 300),  # refunded later: still a debit of its batch
        (Kind.SALE, State.VOIDED, 5000),
        (Kind.SALE, State.DECLINED, 7000),
        (Kind.SALE, State.REVERSED, 9000),
        (Kind.PREAUTH_COMPLETION, State.APPROVED, 400),
        (Kind.PREAUTH, State.APPROVED, 8000),
        (Kind.BALANCE_INQUIRY, State.APPROVED, 0),
        (Kind.VOID, State.APPROVED, 5000),
        (Kind.REFUND, State.APPROVED, 300),
        (Kind.REFUND, State.DECLINED, 100),
    ]
    plain = [(kind.value, state.value, amount) for kind, state, amount in rows]
    totals = totals_of(plain)
    assert totals == BatchTotals(debit_count=4, debit_minor=1900, credit_count=1, credit_minor=300)
    assert totals.net_minor == 1600
    assert [(t.kind, t.count, t.amount_minor) for t in by_kind(plain)] == [
        (Kind.SALE, 3, 1500),
        (Kind.PREAUTH_COMPLETION, 1, 400),
        (Kind.REFUND, 1, 300),
    ]


def test_field_63_round_trips() -> None:
    totals = BatchTotals(12, 123_456, 1, 99)
    assert len(totals_field(totals)) == 36
    assert read_totals_field(totals_field(totals)) == totals


@pytest.mark.parametrize("value", ["", "1" * 35, "1" * 37, "00000100000000100A000000000000000000"])
def test_a_malformed_field_63_is_a_format_error(value: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        read_totals_field(value)
    assert caught.value.field == "63"
