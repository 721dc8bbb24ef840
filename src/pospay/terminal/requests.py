"""What the terminal sends: request messages built from its journal rows.

Card-present attempts carry the card (fields 2, 14, 22, 23; PIN, chip and track 2 data
are added by the engine); follow-ups name their original by RRN and carry no card data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from pospay.iso8583 import Message
from pospay.iso8583.fields import amount_field, local_date_field, local_time_field
from pospay.iso8583.messages import AMOUNTLESS, ENTRY_MODES, PROCESSING_CODES, REQUEST_MTI
from pospay.money import Money, currency_numeric
from pospay.security.keys import WorkingKeys
from pospay.security.pin import PIN_SECURITY_CONTROL, encrypt_pin_block
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.transaction import Kind


def card_request(
    config: TerminalConfig, kind: Kind, card: CardRead, amount: Money, row: Row[Any], now: datetime
) -> Message:
    """The request of the card-present attempt `row` (without PIN, chip or track 2 data)."""
    request: Message = {
        "t": REQUEST_MTI[kind],
        "2": card.pan,
        "3": PROCESSING_CODES[kind],
        "7": row.transmission_at,
        "11": row.stan,
        "12": local_time_field(now),
        "13": local_date_field(now),
        "14": card.expiry,
        "22": ENTRY_MODES[card.method],
        "23": card.sequence,
        "25": "00",
        "41": config.terminal_id,
        "42": config.merchant_id,
        "49": currency_numeric(amount.currency),
        "60": row.batch,
    }
    if kind not in AMOUNTLESS:
        request["4"] = amount_field(amount.minor)
    return request


def follow_up_request(
    config: TerminalConfig,
    kind: Kind,
    amount: Money,
    row: Row[Any],
    original: Row[Any],
    now: datetime,
) -> Message:
    """The request of the follow-up `row`: it names `original` by RRN, never by card."""
    request: Message = {
        "t": REQUEST_MTI[kind],
        "3": PROCESSING_CODES[kind],
        "4": amount_field(amount.minor),
        "7": row.transmission_at,
        "11": row.stan,
        "12": local_time_field(now),
        "13": local_date_field(now),
        "25": "00",
        "37": original.rrn,
        "41": config.terminal_id,
        "42": config.merchant_id,
        "49": currency_numeric(amount.currency),
        "60": row.batch,
    }
    if original.auth_code:
        request["38"] = original.auth_code
    return request


def pin_fields(card: CardRead, working_keys: WorkingKeys | None) -> Message:
    """Fields 52 and 53 for an online PIN, under the PIN key of the last sign-in."""
    if card.pin is None or working_keys is None:
        return {}
    return {
        "52": encrypt_pin_block(card.pin, card.pan, working_keys.pin_key),
        "53": PIN_SECURITY_CONTROL,
    }
