"""Requests a test sends straight to `HostService.handle`, as a signed-in terminal would."""

from __future__ import annotations

from datetime import datetime

from nodes import CONFIG
from pospay.emv import SimulatedCard, TerminalData
from pospay.iso8583 import Message
from pospay.iso8583.fields import amount_field
from pospay.iso8583.messages import original_data_field
from pospay.issuer.test_cards import TEST_CARDS

CARD = TEST_CARDS[0]
TERMINAL, MERCHANT = CONFIG.terminal_id, CONFIG.merchant_id

SIGN_IN: Message = {
    "t": "0800",
    "7": "1126090000",
    "11": "000001",
    "41": TERMINAL,
    "42": MERCHANT,
    "60": "000001",
    "70": "001",
}


def sale(stan: str, minor: int, transmission_at: str = "1126100000") -> Message:
    """A chip sale of `minor` fen on the first test card, with the card's own ARQC."""
    chip = SimulatedCard(CARD.pan, CARD.psn)
    icc = chip.generate_ac(TerminalData(minor, "156", "156", datetime(2026, 11, 26), bytes(4)))
    return {
        "t": "0200",
        "2": CARD.pan,
        "3": "000000",
        "4": amount_field(minor),
        "7": transmission_at,
        "11": stan,
        "12": "100000",
        "13": "1126",
        "14": CARD.expiry,
        "22": "051",
        "23": f"0{CARD.psn}",
        "25": "00",
        "41": TERMINAL,
        "42": MERCHANT,
        "49": "156",
        "55": icc.field_55().hex().upper(),
        "60": "000001",
    }


def reversal(original: Message, stan: str, reason: str = "98") -> Message:
    return {
        "t": "0400",
        "3": original["3"],
        "4": original["4"],
        "7": "1126100100",
        "11": stan,
        "39": reason,
        "41": TERMINAL,
        "42": MERCHANT,
        "49": original["49"],
        "60": original["60"],
        "90": original_data_field(original["t"], original["11"], original["7"]),
    }


def status_query(original: Message, stan: str) -> Message:
    """The 0600 asking for the outcome of `original`, named by field 90."""
    return {
        "t": "0600",
        "3": original["3"],
        "4": original["4"],
        "7": "1126100200",
        "11": stan,
        "41": TERMINAL,
        "42": MERCHANT,
        "49": original["49"],
        "60": original["60"],
        "90": original_data_field(original["t"], original["11"], original["7"]),
    }
