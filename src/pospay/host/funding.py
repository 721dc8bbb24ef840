"""Top-ups of a prepaid card paid by card: the host's check of the card sale that paid.

A top-up by card (`Kind.PREPAID_CARD_TOP_UP`) names in field 37 the RRN of the card
sale the customer paid it with, which the same terminal ran just before. In the unit
that records the top-up the host refuses it unless that sale is in its journal,
approved, of the same terminal and merchant, not the payer of a top-up that stands,
and for the same amount, in that order (`docs/iso8583.md` section 4.20); the top-up's
journal row is linked to the sale (`original_id`), so the sale can no longer be
voided or refunded while a top-up it paid for stands (`host.originals`). The
programme checks again that a sale pays for one top-up at most, with a unique key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row

from pospay.host.journal import RequestRecord
from pospay.host.originals import standing
from pospay.transaction import Kind, State


def funding_refusal(
    connection: Connection, record: RequestRecord, sale: Row[Any] | None
) -> tuple[str, str] | None:
    """The response code and reason the host refuses the top-up `record` with, or None."""
    if sale is None or sale.merchant_id != record.merchant_id or sale.tombstone is not None:
        return "25", "no card sale with this RRN for this merchant"
    if Kind(sale.kind) is not Kind.SALE:
        return "25", f"the RRN names a {sale.kind}, not a card sale"
    if sale.terminal_id != record.terminal_id:
        return "12", "a top-up by card is paid by a sale of the same terminal"
    if State(sale.state) is not State.APPROVED:
        return "12", f"the card sale is {sale.state}"
    if any(Kind(row.kind) is Kind.PREPAID_CARD_TOP_UP for row in standing(connection, sale.id)):
        return "12", "the card sale paid for a top-up already"
    if (sale.amount_minor, sale.currency) != (record.amount_minor, record.currency):
        return "13", "the top-up's amount differs from the card sale's"
    return None
