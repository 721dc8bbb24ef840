"""The settlement slip: what a terminal prints at the end of the day for one batch.

A sibling of the sale slip. Its lines are laid out here, with the same column rules
(`columns.py`) and the same line type (`compose.PrintLine`), so `render_settlement`
gives the text and the ESC/POS job of one slip, line for line the same:

    结算单 SETTLEMENT SLIP
    merchant, terminal, operator, authorising supervisor, batch, date/time
    one line per transaction type: count and amount
    debits, credits, net
    balanced / unbalanced, and "balanced after batch upload" when it took one
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from pospay.money import Money, format_money
from pospay.receipts.columns import Measure, center, printer_width, text_width
from pospay.receipts.compose import PrintLine
from pospay.receipts.escpos import escpos_job
from pospay.receipts.layout import KIND_LABELS, Label, Paper, Style
from pospay.receipts.sale import CHINA_STANDARD_TIME
from pospay.receipts.slip_lines import field_lines, label_lines
from pospay.settlement import BatchTotals, KindTotal

TITLE = Label("结算单", "SETTLEMENT SLIP")
_MERCHANT_NAME = Label("商户名称", "MERCHANT NAME")
_MERCHANT_ID = Label("商户编号", "MERCHANT NO.")
_TERMINAL_ID = Label("终端编号", "TERMINAL NO.")
_OPERATOR = Label("操作员", "OPERATOR")
_SUPERVISOR = Label("授权主管", "SUPERVISOR")
_BATCH = Label("批次号", "BATCH NO.")
_DATE_TIME = Label("日期/时间", "DATE/TIME")
_COLUMNS = Label("类型 TYPE", "笔数 COUNT / 金额 AMOUNT")
_DEBITS = Label("借记合计", "DEBITS")
_CREDITS = Label("贷记合计", "CREDITS")
_NET = Label("净额", "NET")
BALANCED = Label("对账平", "BALANCED")
UNBALANCED = Label("对账不平", "UNBALANCED")
AFTER_UPLOAD = Label("批上送后对账平", "BALANCED AFTER BATCH UPLOAD")
_UPLOADED = Label("上送笔数", "UPLOADED")


@dataclass(frozen=True, slots=True)
class SettlementSlipData:
    """One settled batch as the terminal journal records it."""

    merchant_name: str
    merchant_id: str
    terminal_id: str
    operator: str
    supervisor: str | None
    batch: str
    at: datetime  # timezone-aware
    currency: str
    by_kind: tuple[KindTotal, ...]
    totals: BatchTotals
    balanced_first_time: bool  # False: the host answered 95 and the batch was uploaded
    uploaded: int

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("settlement time must be timezone-aware")
        if len(self.batch) != 6 or not self.batch.isdigit():
            raise ValueError(f"batch must be 6 digits, not {self.batch!r}")


def settlement_lines(
    slip: SettlementSlipData, paper: Paper, measure: Measure, *, zone: tzinfo = CHINA_STANDARD_TIME
) -> tuple[PrintLine, ...]:
    """The lines of `slip` on `paper`, columns counted by `measure`."""
    width = paper.columns
    rule = PrintLine("-" * width)
    lines = [
        PrintLine(center(text, width, measure), Style.LARGE)
        for text in label_lines(TITLE, width, measure)
    ]
    lines.append(rule)
    facts: list[tuple[Label, str | None]] = [
        (_MERCHANT_NAME, slip.merchant_name),
        (_MERCHANT_ID, slip.merchant_id),
        (_TERMINAL_ID, slip.terminal_id),
        (_OPERATOR, slip.operator),
        (_SUPERVISOR, slip.supervisor),
        (_BATCH, slip.batch),
        (_DATE_TIME, slip.at.astimezone(zone).strftime("%Y/%m/%d %H:%M:%S")),
    ]
    for label, value in facts:
        if value:
            lines += field_lines(label, value, width, measure)
    lines.append(rule)
    lines += [PrintLine(text) for text in label_lines(_COLUMNS, width, measure)]
    totals = slip.totals
    counted = _Counted(
        [(total.count, total.amount_minor) for total in slip.by_kind]
        + [(totals.debit_count, totals.debit_minor), (totals.credit_count, totals.credit_minor)],
        slip.currency,
    )
    for total in slip.by_kind:
        value = counted.show(total.count, total.amount_minor)
        lines += field_lines(KIND_LABELS[total.kind], value, width, measure)
    lines.append(rule)
    debits = counted.show(totals.debit_count, totals.debit_minor)
    credits = counted.show(totals.credit_count, totals.credit_minor)
    lines += field_lines(_DEBITS, debits, width, measure)
    lines += field_lines(_CREDITS, credits, width, measure)
    lines += field_lines(_NET, _money(totals.net_minor, slip.currency), width, measure, Style.LARGE)
    lines.append(rule)
    results = [BALANCED] if slip.balanced_first_time else [UNBALANCED, AFTER_UPLOAD]
    for result in results:
        lines += [
            PrintLine(center(t, width, measure), Style.BOLD)
            for t in label_lines(result, width, measure)
        ]
    if not slip.balanced_first_time:
        lines += field_lines(_UPLOADED, str(slip.uploaded), width, measure)
    return tuple(lines)


def render_settlement(slip: SettlementSlipData, paper: Paper) -> tuple[str, bytes]:
    """The slip as text (for screens and the journal) and as an ESC/POS job."""
    text = "".join(line.text + "\n" for line in settlement_lines(slip, paper, text_width))
    return text, escpos_job(settlement_lines(slip, paper, printer_width))


class _Counted:
    """Count and amount columns of the slip, padded so counts line up under each other
    (amounts are right-aligned with the line)."""

    def __init__(self, rows: list[tuple[int, int]], currency: str) -> None:
        self._currency = currency
        self._count_width = max((len(str(count)) for count, _ in rows), default=1)
        self._amount_width = max((len(_money(minor, currency)) for _, minor in rows), default=1)

    def show(self, count: int, minor: int) -> str:
        amount = _money(minor, self._currency)
        return f"{count:>{self._count_width}}  {amount:>{self._amount_width}}"


def _money(minor: int, currency: str) -> str:
    shown = format_money(Money(abs(minor), currency))
    return f"-{shown}" if minor < 0 else shown
