"""Counting columns where a Chinese character takes two, and wrapping into them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pospay.receipts.columns import Measure, center, printer_width, spread, text_width, wrap

from .strategies import mixed_text

MEASURES = pytest.mark.parametrize("measure", [text_width, printer_width], ids=["text", "printer"])


@pytest.mark.parametrize(
    ("text", "on_screen", "on_printer"),
    [
        ("AMOUNT", 6, 6),
        ("金额", 4, 4),
        ("（）：", 6, 6),
        ("¥12.50", 6, 7),  # ¥ is narrow on a screen, double-byte on a printer
        ("e\u0301", 1, 3),  # a combining accent takes no room on a screen
        ("", 0, 0),
    ],
)
def test_columns_on_screen_and_on_printer(text: str, on_screen: int, on_printer: int) -> None:
    assert (text_width(text), printer_width(text)) == (on_screen, on_printer)


@MEASURES
@given(text=mixed_text, width=st.integers(min_value=2, max_value=48))
def test_wrapped_lines_fit_and_lose_nothing(measure: Measure, text: str, width: int) -> None:
    lines = wrap(text, width, measure)
    assert all(measure(line) <= width for line in lines)
    assert all(line == line.strip() and line for line in lines)
    assert "".join("".join(lines).split()) == "".join(text.split())


def test_lines_break_between_words_and_chinese_characters() -> None:
    assert wrap("I ACKNOWLEDGE SATISFACTORY RECEIPT", 20, text_width) == [
        "I ACKNOWLEDGE",
        "SATISFACTORY RECEIPT",
    ]
    assert wrap("同意将其记入本卡账户", 8, text_width) == ["同意将其", "记入本卡", "账户"]


def test_closing_punctuation_never_starts_a_line_nor_opening_punctuation_ends_one() -> None:
    assert wrap("一二三四，五", 8, text_width) == ["一二三", "四，五"]
    assert wrap("一二三（四", 8, text_width) == ["一二三", "（四"]


def test_a_word_wider_than_a_line_is_cut() -> None:
    assert wrap("POS-20260101-0001", 8, text_width) == ["POS-2026", "0101-000", "1"]


def test_a_line_of_one_column_cannot_hold_a_chinese_character() -> None:
    with pytest.raises(ValueError, match="2 columns"):
        wrap("金额", 1, text_width)


def test_spread_and_center_fill_the_line_without_trailing_spaces() -> None:
    assert spread("金额 AMOUNT", "¥12.50", 20, text_width) == "金额 AMOUNT   ¥12.50"
    assert center("签购单", 12, text_width) == "   签购单"
