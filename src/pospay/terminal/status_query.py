"""The terminal's status query (0600/0610): asking the host what became of an attempt.

The 0600 names the attempt as its reversal would (field 90, with the attempt's
processing code, amount and currency) and carries its own STAN. The 0610 is read into
a `StatusReport`:

- DONE: the host's answer stands; `answer` is that answer rebuilt as the 0210 (or
  0110, 0230) the attempt was waiting for, so the engine judges it exactly as it judges
  a first answer (`terminal.answers`: MTI, amount, response code, chip ARPC);
- NOT_FOUND: the host never saw the request and will refuse it if it arrives;
- IN_PROGRESS: the host has the request but no final answer (or reversed it);
- FAILED: no usable answer to the query itself.

Nothing here writes: the engine decides what a report means for the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row

from pospay.iso8583 import Message
from pospay.iso8583.fields import amount_field
from pospay.iso8583.messages import (
    PROCESSING_CODES,
    REQUEST_MTI,
    original_data_field,
    response_mti,
)
from pospay.money import currency_numeric
from pospay.transaction import Kind

DONE_CODE, IN_PROGRESS_CODE, NOT_FOUND_CODE = "00", "09", "25"
# Fields of the 0610 that belong to the stored answer, copied into the rebuilt one.
_ANSWER_FIELDS = ("3", "4", "37", "38", "41", "42", "48", "49", "54", "55", "60")


class Status(StrEnum):
    DONE = "done"
    IN_PROGRESS = "in_progress"
    NOT_FOUND = "not_found"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What a status query learned about one attempt."""

    status: Status
    # DONE: the stored answer as the original response message would have carried it.
    answer: Message | None
    detail: str


def status_request(attempt: Row[Any], merchant_id: str, stan: str, transmission_at: str) -> Message:
    """The 0600 asking for the outcome of `attempt`: no card data, the attempt named by
    field 90, with the STAN and transmission time of the query itself."""
    kind = Kind(attempt.kind)
    return {
        "t": REQUEST_MTI[Kind.STATUS_QUERY],
        "3": PROCESSING_CODES[kind],
        "4": amount_field(attempt.amount_minor),
        "7": transmission_at,
        "11": stan,
        "41": attempt.terminal_id,
        "42": merchant_id,
        "49": currency_numeric(attempt.currency),
        "60": attempt.batch,
        "90": original_data_field(REQUEST_MTI[kind], attempt.stan, attempt.transmission_at),
    }


def read_status_answer(attempt: Row[Any], request: Message, response: Message) -> StatusReport:
    """The report of the 0610 `response` to the 0600 `request` about `attempt`."""
    if response.get("t") != response_mti(request["t"]) or response.get("11") != request["11"]:
        return _failed(f"not an answer to the status query: {response.get('t')}")
    code = response.get("39", "")
    if code == IN_PROGRESS_CODE:
        return StatusReport(Status.IN_PROGRESS, None, "the host has no final answer yet")
    if code == NOT_FOUND_CODE:
        return StatusReport(Status.NOT_FOUND, None, "the host never received the request")
    if code != DONE_CODE:
        return _failed(f"the host answered the status query {code!r}")
    kind = Kind(attempt.kind)
    if "44" not in response or response.get("3") != PROCESSING_CODES[kind]:
        return _failed("a done answer without the stored response code or processing code")
    answer: Message = {
        "t": response_mti(REQUEST_MTI[kind]),
        "7": attempt.transmission_at,
        "11": attempt.stan,
        "39": response["44"],
    }
    answer |= {field: response[field] for field in _ANSWER_FIELDS if field in response}
    return StatusReport(Status.DONE, answer, f"the host answered {response['44']}")


def _failed(detail: str) -> StatusReport:
    return StatusReport(Status.FAILED, None, detail)
