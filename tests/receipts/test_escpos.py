"""ESC/POS print jobs: the commands sent, and Chinese text that survives GB18030 intact."""

from __future__ import annotations

from hypothesis import given, settings

from pospay.receipts import Paper, ReceiptCopy, render_escpos, render_text

from .printjob import read_job
from .samples import COPY, PAPER, expected_display, pan_leaks, receipt_for, sale_with
from .strategies import merchant_names
from .widths import printer_columns

INITIALISE, CHINESE_MODE_ON = b"\x1b@", b"\x1c&"
DOUBLE_HEIGHT, NORMAL_SIZE = 0x01, 0x00


@PAPER
@COPY
def test_the_job_initialises_enters_chinese_mode_and_cuts(paper: Paper, copy: ReceiptCopy) -> None:
    data = render_escpos(receipt_for(copy), paper)
    assert data.startswith(INITIALISE + CHINESE_MODE_ON)
    assert data.endswith(b"\x1bd\x06\x1dV\x00")  # feed 6 lines, full cut


@PAPER
@COPY
def test_the_same_receipt_gives_the_same_bytes(paper: Paper, copy: ReceiptCopy) -> None:
    assert render_escpos(receipt_for(copy), paper) == render_escpos(receipt_for(copy), paper)


@PAPER
@COPY
def test_the_card_number_is_masked_for_the_copy(paper: Paper, copy: ReceiptCopy) -> None:
    data = render_escpos(receipt_for(copy), paper)
    text = read_job(data).text
    assert expected_display(copy) in text
    assert pan_leaks(text, copy) == []
    assert pan_leaks(data.decode("latin-1"), copy) == []  # nor in the raw bytes


@PAPER
@COPY
def test_chinese_and_the_amount_survive_gb18030(paper: Paper, copy: ReceiptCopy) -> None:
    lines = [line.text for line in read_job(render_escpos(receipt_for(copy), paper)).lines]
    [amount] = [line for line in lines if "AMOUNT" in line]
    assert amount.startswith("金额 AMOUNT ")
    assert amount.endswith(" ¥12.50")
    assert "示范便利店（中关村店）" in "".join(lines)
    assert "本人确认以上交易，" in "".join(lines)


@PAPER
def test_a_mixed_line_with_full_width_punctuation_survives(paper: Paper) -> None:
    name = "收银小票 ¥12.50（测试）：完"
    receipt = receipt_for(ReceiptCopy.CUSTOMER, sale_with(merchant_name=name))
    lines = [line.text.strip() for line in read_job(render_escpos(receipt, paper)).lines]
    assert name in lines


@PAPER
@COPY
def test_the_paper_says_what_the_text_says(paper: Paper, copy: ReceiptCopy) -> None:
    receipt = receipt_for(copy)
    printed = read_job(render_escpos(receipt, paper)).text
    # Spacing differs where a printer draws a character wider than a screen does (¥).
    assert printed.split() == render_text(receipt, paper).split()


@PAPER
@COPY
def test_the_title_and_amount_are_bold_and_double_height(paper: Paper, copy: ReceiptCopy) -> None:
    lines = read_job(render_escpos(receipt_for(copy), paper)).lines
    large = [line.text.strip() for line in lines if line.size == DOUBLE_HEIGHT]
    assert large[0] == "签购单 POS SALES SLIP"
    assert large[1].startswith("金额 AMOUNT")
    assert all(line.bold for line in lines if line.size == DOUBLE_HEIGHT)
    [bold] = [line.text for line in lines if line.bold and line.size == NORMAL_SIZE]
    assert bold.startswith("交易类型 TRANS TYPE")
    assert bold.endswith(" 消费 SALE")
    assert (lines[-1].size, lines[-1].bold) == (NORMAL_SIZE, False)


@PAPER
@COPY
@settings(deadline=None)  # the first example pays for importing python-escpos
@given(name=merchant_names)
def test_any_merchant_name_fits_the_paper(paper: Paper, copy: ReceiptCopy, name: str) -> None:
    receipt = receipt_for(copy, sale_with(merchant_name=name))
    job = read_job(render_escpos(receipt, paper))
    assert all(printer_columns(line.text) <= paper.columns for line in job.lines)
    assert "".join(name.split()) in "".join(job.text.split())
