"""Plain-text receipts: the slip's content, masking, and lines that fit the paper."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pospay.receipts import PAPER_58MM, PAPER_80MM, Paper, ReceiptCopy, render_text
from pospay.receipts.layout import KIND_LABELS
from pospay.transaction import Kind, Method

from .samples import COPY, PAPER, expected_display, pan_leaks, receipt_for, sale_with
from .strategies import merchant_names, mixed_text
from .widths import screen_columns


def lines_of(paper: Paper, copy: ReceiptCopy, **changes: object) -> list[str]:
    return render_text(receipt_for(copy, sale_with(**changes)), paper).splitlines()


@PAPER
@COPY
def test_the_card_number_is_masked_for_the_copy(paper: Paper, copy: ReceiptCopy) -> None:
    text = render_text(receipt_for(copy), paper)
    assert expected_display(copy) in text
    assert pan_leaks(text, copy) == []


@PAPER
@COPY
def test_every_fact_of_the_sale_is_printed(paper: Paper, copy: ReceiptCopy) -> None:
    text = render_text(receipt_for(copy), paper)
    for fact in [
        "签购单 POS SALES SLIP",
        "示范便利店（中关村店）",
        "898110154110001",
        "31500422",
        "消费 SALE",
        "000001",
        "000123",
        "583016",
        "601011700123",
        "2026/01/01 17:30:05",
        "POS-20260101-0001",
        "本人确认以上交易，",
    ]:
        assert fact in text


@PAPER
@COPY
def test_the_amount_is_on_one_line_with_its_label(paper: Paper, copy: ReceiptCopy) -> None:
    [amount] = [line for line in lines_of(paper, copy) if "AMOUNT" in line]
    assert amount.startswith("金额 AMOUNT")
    assert amount.endswith(" ¥12.50")
    assert screen_columns(amount) == paper.columns


@PAPER
def test_the_copy_is_marked(paper: Paper) -> None:
    assert "商户存根 MERCHANT COPY" in render_text(receipt_for(ReceiptCopy.MERCHANT), paper)
    assert "持卡人存根 CARDHOLDER COPY" in render_text(receipt_for(ReceiptCopy.CUSTOMER), paper)


@PAPER
def test_the_cardholder_signs_the_merchant_copy_only(paper: Paper) -> None:
    merchant = lines_of(paper, ReceiptCopy.MERCHANT)
    customer = lines_of(paper, ReceiptCopy.CUSTOMER)
    assert "持卡人签名 CARDHOLDER SIGNATURE" in merchant
    assert "_" * paper.columns in merchant
    assert not any("SIGNATURE" in line for line in customer)


@PAPER
@COPY
def test_a_waived_signature_is_said_on_both_copies(paper: Paper, copy: ReceiptCopy) -> None:
    lines = lines_of(paper, copy, signature_required=False)
    assert "免签 NO SIGNATURE REQUIRED" in lines
    assert "持卡人签名 CARDHOLDER SIGNATURE" not in lines


@PAPER
@COPY
def test_a_reprint_says_so_and_an_original_does_not(paper: Paper, copy: ReceiptCopy) -> None:
    original = receipt_for(copy)
    reprint = dataclasses.replace(original, reprint_number=3)
    assert "REPRINT" not in render_text(original, paper)
    assert "重打印 REPRINT 3" in render_text(reprint, paper)


@PAPER
def test_a_missing_auth_code_leaves_no_line(paper: Paper) -> None:
    assert not any(
        "AUTH NO." in line for line in lines_of(paper, ReceiptCopy.CUSTOMER, auth_code=None)
    )


def test_long_labels_and_values_wrap_on_58mm_but_not_on_80mm() -> None:
    narrow = lines_of(PAPER_58MM, ReceiptCopy.MERCHANT)
    wide = lines_of(PAPER_80MM, ReceiptCopy.MERCHANT)
    date_line = narrow.index("日期/时间 DATE/TIME")
    assert narrow[date_line + 1].endswith("2026/01/01 17:30:05")
    assert any(
        line.startswith("日期/时间 DATE/TIME ") and line.endswith("17:30:05") for line in wide
    )


@PAPER
@COPY
def test_lines_fit_the_paper_and_end_without_spaces(paper: Paper, copy: ReceiptCopy) -> None:
    for line in lines_of(paper, copy):
        assert screen_columns(line) <= paper.columns
        assert line == line.rstrip()


@PAPER
@COPY
@settings(deadline=None)  # timing is not what is tested; keep slow CI machines green
@given(
    name=merchant_names,
    operator=mixed_text,
    reference=mixed_text,
    brand=st.sampled_from(["UnionPay", "银联"]),
)
def test_any_merchant_name_fits_and_survives(
    paper: Paper, copy: ReceiptCopy, name: str, operator: str, reference: str, brand: str
) -> None:
    sale = sale_with(merchant_name=name, operator=operator, reference=reference, card_brand=brand)
    text = render_text(receipt_for(copy, sale), paper)
    assert all(screen_columns(line) <= paper.columns for line in text.splitlines())
    assert "".join(name.split()) in "".join(text.split())


@PAPER
@pytest.mark.parametrize("kind", list(Kind))
def test_every_transaction_type_has_a_bilingual_name_that_fits(paper: Paper, kind: Kind) -> None:
    lines = lines_of(paper, ReceiptCopy.MERCHANT, kind=kind)
    name = KIND_LABELS[kind]
    assert re.fullmatch(r"[\u4e00-\u9fff]+", name.zh)
    assert re.fullmatch(r"[A-Z][A-Z -]+", name.en)
    assert any(line.endswith(f" {name.zh} {name.en}") for line in lines)
    assert all(screen_columns(line) <= paper.columns for line in lines)


@pytest.mark.parametrize(
    ("method", "mark"),
    [
        (Method.CARD_CHIP, "/I"),
        (Method.CARD_MAGSTRIPE, "/S"),
        (Method.CARD_CONTACTLESS, "/C"),
        (Method.CARD_MANUAL, "/M"),
    ],
)
def test_the_card_number_carries_its_entry_mode(method: Method, mark: str) -> None:
    text = render_text(receipt_for(ReceiptCopy.CUSTOMER, sale_with(method=method)), PAPER_80MM)
    assert f"************0012{mark}\n" in text
