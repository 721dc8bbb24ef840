"""Reading the host's answer: is it an answer to this attempt, and what does it decide?"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from pospay.emv import IccData, SimulatedCard, decode_icc_data
from pospay.emv.icc_data import ISSUER_AUTHENTICATION_DATA
from pospay.errors import MessageFormatError
from pospay.iso8583 import Message, describe
from pospay.iso8583.fields import amount_field
from pospay.iso8583.messages import REQUEST_MTI, response_mti
from pospay.transaction import Event, Kind


def judge(row: Row[Any], response: Message) -> tuple[Event, Message | None, str]:
    """Decide what a response means for the attempt."""
    kind = Kind(row.kind)
    if response.get("t") != response_mti(REQUEST_MTI[kind]):
        return Event.TIME_OUT, None, f"unexpected response MTI {response.get('t')}"
    if kind.moves_money and response.get("4") != amount_field(row.amount_minor):
        return Event.TIME_OUT, None, "response amount differs from the request"
    code = response.get("39", "")
    entry = describe(code)
    if code == "00":
        return Event.APPROVE, response, entry.meaning
    return Event.DECLINE, response, entry.meaning


def issuer_authentication_failure(
    chip: tuple[SimulatedCard, IccData], response: Message
) -> str | None:
    """None if the card accepts tag 91 of the response (EXTERNAL AUTHENTICATE); else why not."""
    card, emv = chip
    try:
        tags = decode_icc_data(bytes.fromhex(response.get("55", "")))
    except (MessageFormatError, ValueError):
        return "issuer authentication failed: field 55 of the answer is not BER-TLV"
    issuer_data = tags.get(ISSUER_AUTHENTICATION_DATA)
    if issuer_data is None:
        return "issuer authentication failed: the answer carries no ARPC (tag 91)"
    if not card.external_authenticate(emv.arqc, issuer_data):
        return "issuer authentication failed: the card rejected the ARPC"
    return None
