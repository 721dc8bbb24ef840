"""The reversal-failure slip: what a terminal prints when a reversal's retries ran out.

A sibling of the settlement slip (`receipts/settlement.py`), with its column rules and
line type; `render_reversal_failure` gives the text and the ESC/POS job of one slip,
line for line the same. It is a terminal-side document, not a receipt of a transaction:

    冲正失败 REVERSAL FAILED
    merchant, terminal, voucher, STAN, card (first 6 / last 4 only), amount, date/time
    reason code, last error
    请联系收单机构 CONTACT YOUR ACQUIRER

The card number is checked to be in the first 6 / last 4 form (`ValueError` otherwise,
never repeating the value), and the error text is cleaned of control characters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, tzinfo

from pospay.money import Money, format_money
from pospay.receipts.columns import Measure, center, printer_width, text_width
from pospay.receipts.compose import PrintLine
from pospay.receipts.escpos import escpos_job
from pospay.receipts.layout import KIND_LABELS, Label, Paper, Style
from pospay.receipts.masking import check_merchant_display
from pospay.receipts.sale import CHINA_STANDARD_TIME
from pospay.receipts.slip_lines import field_lines, label_lines
from pospay.transaction import Kind

TITLE = Label("冲正失败", "REVERSAL FAILED")
CONTACT = Label("请联系收单机构", "CONTACT YOUR ACQUIRER")
_MERCHANT_NAME = Label("商户名称", "MERCHANT NAME")
_MERCHANT_ID = Label("商户编号", "MERCHANT NO.")
_TERMINAL_ID = Label("终端编号", "TERMINAL NO.")
_KIND = Label("交易类型", "TRANS TYPE")
_VOUCHER = Label("凭证号", "VOUCHER NO.")
_STAN = Label("流水号", "TRACE NO.")
_REVERSAL_STAN = Label("冲正流水号", "REVERSAL TRACE")
_CARD = Label("卡号", "CARD NO.")
_AMOUNT = Label("金额", "AMOUNT")
_DATE_TIME = Label("日期/时间", "DATE/TIME")
_REASON = Label("冲正原因", "REASON CODE")
_TRIES = Label("尝试次数", "TRIES")
_ERROR = Label("最后错误", "LAST ERROR")


@dataclass(frozen=True, slots=True)
class ReversalFailureSlipData:
    """One failed reversal as the terminal journal and reversal queue record it."""

    merchant_name: str
    merchant_id: str
    terminal_id: str
    kind: Kind
    voucher: str
    stan: str  # the attempt's
    reversal_stan: str
    masked_pan: str  # first 6 / last 4
    amount: Money
    at: datetime  # timezone-aware: when the reversal was given up
    reason_code: str
    tries: int
    last_error: str

    def __post_init__(self) -> None:
        check_merchant_display(self.masked_pan)
        if self.at.tzinfo is None:
            raise ValueError("reversal failure time must be timezone-aware")
        for name in ("voucher", "stan", "reversal_stan"):
            value = getattr(self, name)
            if len(value) != 6 or not value.isdigit():
                raise ValueError(f"{name} must be 6 digits, not {value!r}")


def reversal_failure_lines(
    slip: ReversalFailureSlipData,
    paper: Paper,
    measure: Measure,
    *,
    zone: tzinfo = CHINA_STANDARD_TIME,
) -> tuple[PrintLine, ...]:
    """The lines of `slip` on `paper`, columns counted by `measure`."""
    width = paper.columns
    rule = PrintLine("-" * width)
    lines = [
        PrintLine(center(text, width, measure), Style.LARGE)
        for text in label_lines(TITLE, width, measure)
    ]
    lines.append(rule)
    facts: list[tuple[Label, str]] = [
        (_MERCHANT_NAME, _printable(slip.merchant_name)),
        (_MERCHANT_ID, slip.merchant_id),
        (_TERMINAL_ID, slip.terminal_id),
        (_KIND, f"{KIND_LABELS[slip.kind].zh} {KIND_LABELS[slip.kind].en}"),
        (_VOUCHER, slip.voucher),
        (_STAN, slip.stan),
        (_REVERSAL_STAN, slip.reversal_stan),
        (_CARD, slip.masked_pan),
        (_DATE_TIME, slip.at.astimezone(zone).strftime("%Y/%m/%d %H:%M:%S")),
    ]
    for label, value in facts:
        lines += field_lines(label, value, width, measure)
    lines += field_lines(_AMOUNT, format_money(slip.amount), width, measure, Style.LARGE)
    lines.append(rule)
    lines += field_lines(_REASON, slip.reason_code, width, measure)
    lines += field_lines(_TRIES, str(slip.tries), width, measure)
    lines += field_lines(_ERROR, _printable(slip.last_error) or "-", width, measure)
    lines.append(rule)
    lines += [
        PrintLine(center(text, width, measure), Style.BOLD)
        for text in label_lines(CONTACT, width, measure)
    ]
    return tuple(lines)


def render_reversal_failure(slip: ReversalFailureSlipData, paper: Paper) -> tuple[str, bytes]:
    """The slip as text (for screens and the journal) and as an ESC/POS job."""
    text = "".join(line.text + "\n" for line in reversal_failure_lines(slip, paper, text_width))
    return text, escpos_job(reversal_failure_lines(slip, paper, printer_width))


def _printable(value: str) -> str:
    """`value` with control, format and unassigned characters (a printer would obey
    them) replaced by spaces."""
    return " ".join(
        "".join(
            " "
            if unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")
            else c
            for c in value
        ).split()
    )
