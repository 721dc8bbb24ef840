"""What the terminal records and sends for a new attempt, before anything leaves.

Pure: the engine passes in the clock's reading, the chip, the keys and the references;
these functions build the journal record and the request from them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from pospay.cards import mask_merchant
from pospay.emv import IccData, SimulatedCard, TerminalData
from pospay.iso8583 import Message
from pospay.iso8583.fields import transmission_field
from pospay.iso8583.messages import ENTRY_MODES, PROCESSING_CODES
from pospay.money import Money, currency_numeric
from pospay.security.keys import WorkingKeys
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.journal import AttemptRecord
from pospay.terminal.requests import card_request, pin_fields
from pospay.transaction import Kind, Method


def generate_ac(
    card: SimulatedCard,
    config: TerminalConfig,
    kind: Kind,
    amount: Money,
    now: datetime,
    unpredictable_number: bytes,
) -> IccData:
    """Ask the chip for its ARQC over this attempt's data (first GENERATE AC)."""
    terminal_data = TerminalData(
        amount_minor=amount.minor,
        currency_numeric=currency_numeric(amount.currency),
        country_numeric=config.country,
        date=now,
        unpredictable_number=unpredictable_number,
        transaction_type=PROCESSING_CODES[kind][:2],
    )
    return card.generate_ac(terminal_data)


def card_attempt_record(
    config: TerminalConfig,
    kind: Kind,
    card: CardRead,
    amount: Money,
    now: datetime,
    *,
    operator: str,
    supervisor: str | None,
    emv: IccData | None,
    local_ref: str,
) -> AttemptRecord:
    """The journal record of a card-present attempt: the masked card, never the PAN."""
    return AttemptRecord(
        terminal_id=config.terminal_id,
        kind=kind,
        method=card.method,
        amount_minor=amount.minor,
        currency=amount.currency,
        pan_masked=mask_merchant(card.pan),
        brand=config.card_brand(card.pan),
        operator=operator,
        supervisor=supervisor,
        transmission_at=transmission_field(now),
        pos_entry_mode=ENTRY_MODES[card.method],
        card_sequence=card.sequence,
        emv=emv,
        local_ref=local_ref,
    )


def follow_up_record(
    kind: Kind,
    original: Row[Any],
    amount: Money,
    now: datetime,
    *,
    operator: str,
    supervisor: str | None,
    local_ref: str,
) -> AttemptRecord:
    """The journal record of a follow-up: the card as its original recorded it."""
    return AttemptRecord(
        terminal_id=original.terminal_id,
        kind=kind,
        method=Method(original.method),
        amount_minor=amount.minor,
        currency=amount.currency,
        pan_masked=original.pan_masked,
        brand=original.brand,
        operator=operator,
        supervisor=supervisor,
        transmission_at=transmission_field(now),
        original_id=original.id,
        pos_entry_mode=original.pos_entry_mode,
        card_sequence=original.card_sequence,
        local_ref=local_ref,
        wallet=original.wallet,
        wallet_order=original.wallet_order,
        payer_masked=original.payer_masked,
    )


def full_card_request(
    config: TerminalConfig,
    kind: Kind,
    card: CardRead,
    amount: Money,
    row: Row[Any],
    now: datetime,
    keys: WorkingKeys | None,
    emv: IccData | None,
) -> Message:
    """The request of card attempt `row` with its PIN block, chip data and track 2."""
    request = card_request(config, kind, card, amount, row, now)
    request |= pin_fields(card, keys)
    if emv is not None:
        request["55"] = emv.field_55().hex().upper()
    if card.track2 is not None:
        request["35"] = card.track2
    return request


def qr_attempt_record(
    config: TerminalConfig,
    method: Method,
    wallet: str,
    amount: Money,
    now: datetime,
    *,
    operator: str,
    local_ref: str,
) -> AttemptRecord:
    """The journal record of a QR sale: no card, the wallet instead."""
    return AttemptRecord(
        terminal_id=config.terminal_id,
        kind=Kind.SALE,
        method=method,
        amount_minor=amount.minor,
        currency=amount.currency,
        pan_masked="",
        brand=wallet,
        operator=operator,
        transmission_at=transmission_field(now),
        pos_entry_mode=ENTRY_MODES[method],
        local_ref=local_ref,
        wallet=wallet,
    )
