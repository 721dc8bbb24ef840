"""Terminal journal rows written directly, for tests that start from a state the
terminal would reach only after a crash or a whole sale: a chip sale recorded, and an
answer recorded for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from pospay.terminal import journal
from pospay.transaction import Event, Kind, Method


def chip_sale(
    terminal_id: str, amount_minor: int, pan_masked: str, transmission_at: str
) -> journal.AttemptRecord:
    """A UnionPay chip sale in CNY by operator 01, as the terminal records it before sending."""
    return journal.AttemptRecord(
        terminal_id=terminal_id,
        kind=Kind.SALE,
        method=Method.CARD_CHIP,
        amount_minor=amount_minor,
        currency="CNY",
        pan_masked=pan_masked,
        brand="UnionPay",
        operator="01",
        transmission_at=transmission_at,
    )


def answer(
    connection: Connection, row_id: int, event: Event, now: datetime, *, rrn: str = ""
) -> Row[Any]:
    """Record `event` for attempt `row_id`: an approval carries code 00, auth code 123456
    and `rrn`; a time-out carries nothing but its reason."""
    approved = event is Event.APPROVE
    return journal.record_outcome(
        connection,
        row_id,
        event,
        response_code="00" if approved else None,
        auth_code="123456" if approved else None,
        rrn=rrn if approved else None,
        balance_minor=None,
        reason="" if approved else "no answer",
        now=now,
    )
