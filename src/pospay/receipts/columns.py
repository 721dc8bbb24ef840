"""Fitting text into a receipt's fixed columns, where a Chinese character takes two.

Two ways of counting columns, because a terminal and a thermal printer disagree:

- `text_width`, for plain text read on a screen: East Asian wide and full-width
  characters take 2 columns, combining marks 0, everything else 1.
- `printer_width`, for ESC/POS in Chinese mode: every non-ASCII character is drawn
  from the double-byte font (24 dots, two font-A columns), even `¥`, which a screen
  shows narrow.

`wrap` breaks at spaces and between Chinese characters, keeps closing punctuation
off the start of a line (and opening punctuation off its end), and cuts a word only
when it is wider than a whole line.

>>> text_width("金额 AMOUNT")
11
>>> wrap("本人确认以上交易，同意将其记入本卡账户", 16, text_width)
['本人确认以上交', '易，同意将其记入', '本卡账户']
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache

Measure = Callable[[str], int]

_NO_LINE_START = frozenset("，。、；：！？）》」』】〕,.;:!?)]}")
_NO_LINE_END = frozenset("（《「『【〔([{")


@cache
def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


@cache
def _screen_columns(char: str) -> int:
    return 0 if unicodedata.combining(char) else 2 if _is_wide(char) else 1


# Receipts measure the same labels and values over and over: widths are remembered.
@lru_cache(maxsize=8192)
def text_width(text: str) -> int:
    """Columns `text` takes on a screen."""
    if text.isascii():  # no ASCII character is wide or combining
        return len(text)
    return sum(_screen_columns(c) for c in text)


@lru_cache(maxsize=8192)
def printer_width(text: str) -> int:
    """Columns `text` takes on a thermal printer in Chinese (double-byte) mode."""
    if text.isascii():
        return len(text)
    return sum(1 if c.isascii() else 2 for c in text)


def _pieces(word: str) -> list[str]:
    """Split a word (no spaces) where a line may break: around wide characters."""
    if word.isascii():  # no ASCII character is wide: nowhere to break
        return [word]
    pieces = [word[0]]
    for prev, char in itertools.pairwise(word):
        breakable = (_is_wide(prev) or _is_wide(char)) and not (
            char in _NO_LINE_START or prev in _NO_LINE_END
        )
        if breakable:
            pieces.append(char)
        else:
            pieces[-1] += char
    return pieces


def wrap(text: str, width: int, measure: Measure) -> list[str]:
    """Lines of at most `width` columns; runs of whitespace become one space."""
    return list(_wrapped(text, width, measure))


# Every receipt wraps the same labels again: their lines are remembered.
@lru_cache(maxsize=4096)
def _wrapped(text: str, width: int, measure: Measure) -> tuple[str, ...]:
    """`wrap`'s lines. A line's columns are the sum of its characters' (true of both
    measures), so the width of the line being filled is kept as it grows."""
    if width < 2:
        raise ValueError("a line must be at least 2 columns wide")
    lines: list[str] = []
    line, used = "", 0
    space = measure(" ")
    for word in text.split():
        for index, piece in enumerate(_pieces(word)):
            joiner, extra = (" ", space) if index == 0 and line else ("", 0)
            size = extra + measure(piece)
            if used + size <= width:
                line, used = line + joiner + piece, used + size
                continue
            if line:
                lines.append(line)
            line, used = "", 0
            if piece.isascii():  # a column a character, in either measure: cut in slices
                while len(piece) > width:
                    lines.append(piece[:width])
                    piece = piece[width:]
                line, used = piece, len(piece)
                continue
            for char in piece:  # one character at a time: cuts a piece wider than a line
                columns = measure(char)
                if used + columns > width:
                    lines.append(line)
                    line, used = "", 0
                line, used = line + char, used + columns
    if line:
        lines.append(line)
    return tuple(lines)


def spread(left: str, right: str, width: int, measure: Measure) -> str:
    """`left` at the start and `right` at the end of a `width`-column line."""
    return left + " " * (width - measure(left) - measure(right)) + right


def center(text: str, width: int, measure: Measure) -> str:
    """`text` centred on a `width`-column line (left padding only: no trailing spaces)."""
    return " " * ((width - measure(text)) // 2) + text
