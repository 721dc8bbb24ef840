"""No card number in any log record: every record is scrubbed when it is made.

pospay never passes a full card number to a logger on purpose; this is the net under
that rule, for the number that arrives inside an exception message, a peer's garbage
or a third-party library's log line. A *card-number-like run* is 13 to 19 digits,
optionally grouped by single spaces or hyphens, with no digit right before or after it,
that passes the Luhn check: the length and check digit of every PAN (ISO/IEC 7812), as
data-loss scanners recognise card numbers. The check keeps the other long numbers of a
payment system readable (a 15-digit merchant number is a card number's length; nine in
ten fail the check). Such a run keeps its first 6 and last 4 digits, the rest become
``*`` — as much as a merchant copy shows.

The scrubbing runs in the log record factory, so it covers every logger and handler of
the process, including those configured after it is installed; a record is rendered
(message with its arguments, exception and stack text) and the scrubbed text replaces
it. Records below a logger's level are never made, so they cost nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pospay.cards.pan import luhn_valid

_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_SEPARATORS = re.compile(r"[ -]")


def mask_card_numbers(text: str) -> str:
    """`text` with every card-number-like run masked to its first 6 and last 4 digits.

    >>> mask_card_numbers("card 6212345600000012 declined")
    'card 621234******0012 declined'
    >>> mask_card_numbers("track 6212345600000012D30121011234")
    'track 621234******0012D30121011234'
    >>> mask_card_numbers("merchant 898310048160002, RRN 612345678901")
    'merchant 898310048160002, RRN 612345678901'
    """
    return _RUN.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    digits = _SEPARATORS.sub("", match.group())
    if not luhn_valid(digits):
        return match.group()
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


class _ScrubbedRecords:
    """A log record factory that scrubs what the factory before it made."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.make(*args, **kwargs)
        scrub(record)
        return record


def scrub(record: logging.LogRecord) -> None:
    """Replace `record`'s message, exception and stack text by their scrubbed forms."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string is the handler's to report, unscrubbed args not
        message = f"{record.msg!s} (arguments withheld: they do not fit the format)"
    record.msg, record.args = mask_card_numbers(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_card_numbers(record.exc_text)
        # The handler formats exc_info again only when exc_text is empty: keep the
        # scrubbed text, and drop the traceback object so no formatter renders it anew.
        record.exc_info = None
    if record.stack_info:
        record.stack_info = mask_card_numbers(record.stack_info)


def install() -> None:
    """Scrub every log record made from now on in this process (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _ScrubbedRecords):
        logging.setLogRecordFactory(_ScrubbedRecords(current))


def installed() -> bool:
    """Whether records are being scrubbed."""
    return isinstance(logging.getLogRecordFactory(), _ScrubbedRecords)
