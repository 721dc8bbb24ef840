"""The refusal log: requests the host refused before it could authenticate them.

A request that is not network management (08xx) is authenticated by its MAC under the
terminal's MAC key of its last sign-in. Two refusals come before that:

- **58**: the terminal in field 41 has no working keys: it has never signed in (or
  field 41 is absent), so nothing it sends can be authenticated;
- **A0**: field 64 is missing, or is not the MAC of the bytes as received.

Whoever sent such a request cannot be told from anyone able to put a frame on the wire,
so it changes nothing: it is not journaled under its duplicate key (terminal, STAN,
transmission time), leaves no tombstone, reaches no channel. The terminal's genuine
request under the same key is then processed as if the refused one had never come.
Each refusal is one `host_refusal` row instead, written before the answer: when, the
request's terminal id, STAN, transmission time, MTI and processing code as given, the
answer and why, and the peer's address where the server knows it. Never card data.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from pospay.host.tables import host_refusal
from pospay.iso8583 import Message

NOT_SIGNED_IN_REASON = "the terminal has no working keys: it has never signed in"
MAC_ERROR = "A0"
MAC_FAILED_REASON = "MAC verification failed"


def record_refusal(
    connection: Connection,
    request: Message,
    response_code: str,
    reason: str,
    remote_address: str | None,
    now: datetime,
) -> None:
    """Log the refusal of `request` (its identifying fields only)."""
    connection.execute(
        insert(host_refusal).values(
            refused_at=now,
            terminal_id=request.get("41"),
            stan=request.get("11"),
            transmission_at=request.get("7"),
            mti=request["t"],
            processing_code=request.get("3"),
            response_code=response_code,
            reason=reason,
            remote_address=remote_address,
        )
    )


def refusals(connection: Connection) -> list[Row[Any]]:
    """Every logged refusal, oldest first."""
    return list(connection.execute(select(host_refusal).order_by(host_refusal.c.id)))


def refused_codes(connection: Connection) -> dict[str, set[str]]:
    """The response codes each request key ("terminal/STAN/transmission time") was refused
    with, for the auditor: a terminal may hold such an answer that the journal never saw."""
    codes: dict[str, set[str]] = defaultdict(set)
    t = host_refusal.c
    rows = connection.execute(select(t.terminal_id, t.stan, t.transmission_at, t.response_code))
    for row in rows:
        codes[f"{row.terminal_id}/{row.stan}/{row.transmission_at}"].add(row.response_code)
    return dict(codes)
