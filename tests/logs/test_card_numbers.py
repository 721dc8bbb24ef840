"""No card number reaches a log: records are scrubbed for every logger and handler."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pospay.logs import installed, mask_card_numbers

PAN = "6212345600000012"
MASKED = "621234******0012"


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger with a handler of its own, added after pospay was imported."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("tests.logs.card_numbers")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"card {PAN} declined", f"card {MASKED} declined"),
        (f"track {PAN}D30121011234", f"track {MASKED}D30121011234"),
        (f"track {PAN}=3012", f"track {MASKED}=3012"),
        ("6212 3456 0000 0012", MASKED),
        ("6212-3456-0000-0012", MASKED),
        ("1234567890128", "123456***0128"),  # 13 digits
        ("1234567890123456785", "123456*********6785"),  # 19 digits
        ("4000200000000017", None),  # fails the Luhn check: not a card number
        ("merchant 898310048160002", None),  # a card number's length, not its check digit
        ("STAN 000002, RRN 612345678901, amount 000000001250", None),
        ("trade no 4200001234202612081234567890", None),  # 28 digits: no card number
        ("123456789012", None),  # 12 digits
    ],
)
def test_card_number_runs_are_masked_and_nothing_else(text: str, expected: str | None) -> None:
    assert mask_card_numbers(text) == (text if expected is None else expected)


def test_message_and_arguments_are_scrubbed(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = log
    logger.info("refused %s for %d at %s", PAN, int(PAN), "100%")
    logger.info(f"literal {PAN} in the message, and a %s", "placeholder")
    assert PAN not in out.getvalue()
    assert out.getvalue().splitlines() == [
        f"refused {MASKED} for {MASKED} at 100%",
        f"literal {MASKED} in the message, and a placeholder",
    ]


def test_exceptions_and_stacks_are_scrubbed(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = log
    try:
        raise ValueError(f"bad card {PAN}")
    except ValueError:
        logger.exception("while reading %s", PAN)
    logger.info("here", stack_info=True)
    text = out.getvalue()
    assert PAN not in text
    assert f"ValueError: bad card {MASKED}" in text
    assert "Traceback (most recent call last)" in text
    assert "Stack (most recent call last)" in text


def test_a_record_whose_arguments_do_not_fit_its_format_still_hides_them(
    log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = log
    logger.info("one placeholder %s %s", PAN)
    assert PAN not in out.getvalue()
    assert "arguments withheld" in out.getvalue()


def test_records_are_scrubbed_in_a_process_that_only_imports_pospay() -> None:
    """On by default: no set-up beyond importing any part of pospay, handlers configured
    after the import included."""
    program = (
        "import logging, pospay.cards\n"
        "logging.basicConfig(format='%(levelname)s %(message)s')\n"
        f"logging.getLogger('anything').warning('card %s', '{PAN}')\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, a program of the test
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stderr == f"WARNING card {MASKED}\n"


def test_installed_in_this_process() -> None:
    assert installed()
