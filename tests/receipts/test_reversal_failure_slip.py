"""The reversal-failure slip: bilingual, masked card only, both renderers agreeing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from pospay.money import Money
from pospay.receipts import PAPERS, Paper
from pospay.receipts.columns import printer_width, text_width
from pospay.receipts.escpos import INITIALISE
from pospay.receipts.reversal_failure import (
    ReversalFailureSlipData,
    render_reversal_failure,
    reversal_failure_lines,
)
from pospay.transaction import Kind

PAN = "6222020000000000005"


def slip(**changes: Any) -> ReversalFailureSlipData:
    data = ReversalFailureSlipData(
        merchant_name="测试商户 TEST SHOP",
        merchant_id="898310048160002",
        terminal_id="20000001",
        kind=Kind.SALE,
        voucher="000042",
        stan="000107",
        reversal_stan="000108",
        masked_pan=f"{PAN[:6]}*********{PAN[-4:]}",
        amount=Money(880, "CNY"),
        at=datetime(2026, 3, 14, 12, 0, tzinfo=UTC),
        reason_code="98",
        tries=3,
        last_error="not sent: test link: host unreachable",
    )
    return replace(data, **changes)


@pytest.mark.parametrize("paper", list(PAPERS.values()), ids=list(PAPERS))
def test_slip_says_what_failed_and_whom_to_call(paper: Paper) -> None:
    text, escpos = render_reversal_failure(slip(), paper)
    assert "冲正失败 REVERSAL FAILED" in text
    assert "请联系收单机构" in text and "CONTACT YOUR ACQUIRER" in text
    for value in ("000042", "000107", "20000001", "898310048160002", "¥8.80", "98"):
        assert value in text
    assert "2026/03/14 20:00:00" in text
    assert f"{PAN[:6]}*********{PAN[-4:]}" in text and PAN not in text
    assert PAN.encode() not in escpos
    for line in text.splitlines():
        assert text_width(line) <= paper.columns and line == line.rstrip()
    for printed in reversal_failure_lines(slip(), paper, printer_width):
        assert printer_width(printed.text) <= paper.columns
    assert escpos.startswith(INITIALISE) and "冲正失败".encode("gb18030") in escpos


def test_slip_refuses_a_full_card_number_without_repeating_it() -> None:
    with pytest.raises(ValueError, match=r"first 6 / last 4|unmasked") as refused:
        slip(masked_pan=PAN)
    assert PAN not in str(refused.value)


def test_slip_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        slip(at=datetime(2026, 3, 14, 12, 0))


def test_control_characters_of_the_error_never_reach_the_printer() -> None:
    text, escpos = render_reversal_failure(slip(last_error="boom\x1b@\x1dV end"), PAPERS["80mm"])
    assert "boom @ V end" in text and "\x1b" not in text and "\x1d" not in text
    assert escpos.count(b"\x1b@") == 1  # the initialise command, nothing from the error
    assert b"boom @ V end" in escpos
