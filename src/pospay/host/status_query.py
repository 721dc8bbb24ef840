"""The status query (0600/0610): what became of one of the terminal's requests.

In the spirit of nexo's TransactionStatusRequest, a terminal that got no usable answer
asks for the outcome of its request, named by its key (field 41 with the original STAN
and transmission time in field 90, as a reversal names it). One unit of work reads the
host journal and answers:

- **00 done**: the row is final and its answer stands (approved, declined, or approved
  and since settled, voided or refunded): the 0610 carries the stored answer, its
  response code in field 44 and fields 37, 38, 54 and 55 as the 0210 had them;
- **09 in progress**: the row exists but is not final (sent, unknown, reversal pending),
  or was reversed: its answer no longer stands, and the terminal reverses too (the
  reversal is idempotent at host and issuer);
- **25 not found**: the host never saw the request. In the same unit it records a
  tombstone for the key (`host.tombstones`), so the request, arriving late, is refused
  and never forwarded: not found is final. A tombstone is answered 25 again.

A terminal that has not signed in under the merchant of field 42 (an unknown terminal
included) is answered 58 and nothing is recorded. A status query never moves money and
never changes a journal row's state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError

from pospay.clock import Clock
from pospay.host import journal, tombstones
from pospay.host.responses import status_response
from pospay.iso8583 import Message
from pospay.iso8583.fields import read_amount
from pospay.iso8583.messages import read_original_data_field
from pospay.storage import Committer
from pospay.transaction import State

DONE = "00"
IN_PROGRESS = "09"
NOT_FOUND = tombstones.NOT_FOUND
NOT_SIGNED_IN = "58"

# Final rows whose first answer still stands.
_DONE_STATES = frozenset(
    {State.APPROVED, State.DECLINED, State.SETTLED, State.VOIDED, State.REFUNDED}
)


def status_of(row: Row[Any]) -> str:
    """The status-query answer for journal row `row`."""
    if row.tombstone is not None:
        return NOT_FOUND
    if State(row.state) in _DONE_STATES and row.response_code is not None:
        return DONE
    return IN_PROGRESS


async def answer_status_query(committer: Committer, clock: Clock, request: Message) -> Message:
    """The 0610 for a well-formed 0600 (`check_required` has passed). A garbled field 90,
    or one naming no card request, raises `MessageFormatError` (30) before any unit."""
    original_mti, stan, transmission_at = read_original_data_field(request["90"])
    terminal_id, merchant_id = request["41"], request["42"]
    unseen = tombstones.unseen_original(
        terminal_id=terminal_id,
        merchant_id=merchant_id,
        original_mti=original_mti,
        original_stan=stan,
        original_transmission_at=transmission_at,
        processing_code=request["3"],
        amount=read_amount(request),
        batch=request["60"][:6],
    )
    now = clock.now()

    def ask(connection: Connection) -> tuple[str, Row[Any] | None]:
        if not journal.is_signed_in(connection, terminal_id, merchant_id):
            return NOT_SIGNED_IN, None
        row = journal.find_request(connection, terminal_id, stan, transmission_at)
        if row is None:
            tombstones.after_status_query(connection, unseen, now)
            return NOT_FOUND, None
        return status_of(row), row

    try:
        code, row = await committer.run(ask)
    except IntegrityError:
        # The request arrived while its tombstone was being recorded: it is in the
        # journal now, so asking again finds it.
        code, row = await committer.run(ask)
    return status_response(request, code, row if code == DONE else None)
