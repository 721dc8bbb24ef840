"""The settlement slip: totals by type, the result, and both renderers agreeing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from pospay.receipts import PAPERS, Paper
from pospay.receipts.columns import printer_width, text_width
from pospay.receipts.escpos import INITIALISE
from pospay.receipts.settlement import SettlementSlipData, render_settlement, settlement_lines
from pospay.settlement import BatchTotals, KindTotal
from pospay.transaction import Kind


def slip(*, balanced: bool = True) -> SettlementSlipData:
    return SettlementSlipData(
        merchant_name="测试商户 TEST SHOP",
        merchant_id="898310048160002",
        terminal_id="20000001",
        operator="01",
        supervisor="S1",
        batch="000007",
        at=datetime(2026, 3, 14, 12, 0, tzinfo=UTC),
        currency="CNY",
        by_kind=(KindTotal(Kind.SALE, 3, 3750), KindTotal(Kind.REFUND, 1, 500)),
        totals=BatchTotals(3, 3750, 1, 500),
        balanced_first_time=balanced,
        uploaded=0 if balanced else 4,
    )


@pytest.mark.parametrize("paper", list(PAPERS.values()), ids=list(PAPERS))
def test_slip_shows_batch_totals_and_result(paper: Paper) -> None:
    text, escpos = render_settlement(slip(), paper)
    assert "结算单" in text and "SETTLEMENT SLIP" in text
    assert "000007" in text and "20000001" in text and "S1" in text
    assert "2026/03/14 20:00:00" in text  # merchant's wall time
    assert "¥37.50" in text and "¥5.00" in text and "¥32.50" in text  # sales, refunds, net
    assert "对账平 BALANCED" in text and "UPLOAD" not in text
    for line in text.splitlines():
        assert text_width(line) <= paper.columns and line == line.rstrip()
    for printed in settlement_lines(slip(), paper, printer_width):
        assert printer_width(printed.text) <= paper.columns
    assert escpos.startswith(INITIALISE) and "¥32.50".encode("gb18030") in escpos


def test_slip_after_batch_upload_says_so() -> None:
    text, _ = render_settlement(slip(balanced=False), PAPERS["80mm"])
    assert "对账不平 UNBALANCED" in text
    assert "批上送后对账平 BALANCED AFTER BATCH UPLOAD" in text
    assert "上送笔数 UPLOADED" in text


def test_slip_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        replace(slip(), at=datetime(2026, 3, 14, 12, 0))
