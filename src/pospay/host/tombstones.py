"""Tombstones: request keys the host refuses before the request arrives.

A request can reach the host late (delayed or reordered on the network) after the
terminal has already given it up. Two answers make that safe only if the request is
then refused:

- a reversal (0400) of a request the host never saw is answered 25: the terminal
  takes its attempt as reversed, nothing moved;
- a status query (0600) for a request the host never saw is answered 25 (not found):
  the terminal takes its attempt as declined.

In the unit that gives either answer, the host records the request's key in its
journal as a final row without a card (`tombstone` says which answer made it):
REVERSED after a reversal, DECLINED 25 after a status query, each reached through
the life cycle. When the request itself arrives it collides with that row on the
duplicate key (terminal, STAN, transmission time) like any resend, is answered from
it (section 8 of docs/iso8583.md: 94 for the reversed row, the stored 25 for the
declined one) and is never forwarded. So the refusal costs the hot path nothing: the
unique key every sale is inserted under already does the lookup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from pospay.errors import MessageFormatError
from pospay.host import journal
from pospay.iso8583.messages import original_kind
from pospay.money import Money
from pospay.transaction import Event, Method

REVERSAL = "reversal"
STATUS_QUERY = "status_query"
NOT_FOUND = "25"


def unseen_original(
    *,
    terminal_id: str,
    merchant_id: str,
    original_mti: str,
    original_stan: str,
    original_transmission_at: str,
    processing_code: str,
    amount: Money,
    batch: str,
) -> journal.RequestRecord:
    """The journal record of a request known only by its key (field 90 of a reversal or
    status query, with the processing code, amount and currency it carries): no card.

    Raises `MessageFormatError` (field 90) when that MTI and processing code are not a
    request the link carries, so nothing could ever be recorded under it."""
    kind = original_kind(original_mti, processing_code)
    if kind is None:
        raise MessageFormatError(
            f"field 90 names a {original_mti} with processing code {processing_code}, "
            "which is not a card request",
            field="90",
        )
    return journal.RequestRecord(
        terminal_id=terminal_id,
        stan=original_stan,
        transmission_at=original_transmission_at,
        merchant_id=merchant_id,
        mti=original_mti,
        processing_code=processing_code,
        kind=kind,
        # No card was ever seen: recorded like a follow-up, which carries none either.
        method=Method.CARD_MANUAL,
        amount_minor=amount.minor,
        currency=amount.currency,
        pan_masked="",
        pan_ref="",
        batch=batch,
    )


def after_reversal(
    connection: Connection, record: journal.RequestRecord, now: datetime
) -> Row[Any]:
    """The tombstone of a request reversed before it arrived: REVERSED, no answer."""
    return journal.record_tombstone(
        connection,
        record,
        (Event.REVERSE, Event.REVERSAL_CONFIRMED),
        response_code=None,
        reason="never received: reversed before it arrived; refused if it does",
        tombstone=REVERSAL,
        now=now,
    )


def after_status_query(
    connection: Connection, record: journal.RequestRecord, now: datetime
) -> Row[Any]:
    """The tombstone of a request a status query found missing: DECLINED 25."""
    return journal.record_tombstone(
        connection,
        record,
        (Event.NOT_FOUND,),
        response_code=NOT_FOUND,
        reason="never received: a status query found nothing; refused if it arrives",
        tombstone=STATUS_QUERY,
        now=now,
    )
