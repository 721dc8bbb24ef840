"""Building response messages. A response is built only from the journal row, so a
replayed response is byte-for-byte the response first sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from pospay.emv import encode_icc_data
from pospay.emv.icc_data import ISSUER_AUTHENTICATION_DATA
from pospay.errors import MessageFormatError
from pospay.iso8583 import Message, qr_data
from pospay.iso8583.fields import amount_field, balance_field
from pospay.iso8583.messages import AMOUNTLESS, response_mti
from pospay.iso8583.qr_data import qr_field
from pospay.money import Money, currency_numeric
from pospay.transaction import Kind

# A QR payment still being paid (the payer enters the password, or has not scanned yet).
IN_PROGRESS = "09"
# Fields a request may have that an error response echoes: never card data.
_ECHO_ON_ERROR = ("3", "4", "7", "11", "41", "42", "49")


def card_response(row: Row[Any]) -> Message:
    """The 0210 for a journal row that has an answer."""
    response: Message = {
        "t": response_mti(row.mti),
        "3": row.processing_code,
        "7": row.transmission_at,
        "11": row.stan,
        "37": row.rrn,
        "39": row.response_code,
        "41": row.terminal_id,
        "42": row.merchant_id,
        "49": currency_numeric(row.currency),
        "60": row.batch,
    }
    if Kind(row.kind) not in AMOUNTLESS:
        response["4"] = amount_field(row.amount_minor)
    if row.auth_code:
        response["38"] = row.auth_code
    if row.balance_minor is not None:
        response["54"] = balance_field(Money(row.balance_minor, row.currency))
    if row.issuer_auth_data:
        tags = {ISSUER_AUTHENTICATION_DATA: bytes.fromhex(row.issuer_auth_data)}
        response["55"] = encode_icc_data(tags).hex().upper()
    if getattr(row, "wallet", None):
        response["48"] = wallet_answer_field(row)
    return response


def wallet_answer_field(row: Row[Any], merchant: str = "") -> str:
    """Field 48 of the answer to a QR payment: what the wallet said, from the journal."""
    return qr_field(
        {
            qr_data.MERCHANT: merchant,
            qr_data.WALLET: row.wallet,
            qr_data.ORDER: row.wallet_order or "",
            qr_data.TRADE_NO: row.wallet_trade_no or "",
            qr_data.PAYER: row.payer_masked or "",
            qr_data.POLL_INTERVAL: "5" if row.response_code == IN_PROGRESS else "",
        }
    )


def error_response(request: Message, response_code: str) -> Message | None:
    """A response carrying only `response_code` and the safe echo fields, or None when
    the request's MTI is not a request MTI we could answer."""
    try:
        mti = response_mti(request.get("t", ""))
    except MessageFormatError:
        return None
    response: Message = {"t": mti, "39": response_code}
    for field in _ECHO_ON_ERROR:
        value = request.get(field)
        if value is not None:
            response[field] = value
    return response


def reversal_response(row: Row[Any], response_code: str | None = None) -> Message:
    """The 0410 for a reversal row: its stored answer, or `response_code` for an answer
    that is not stored (the reversal is not done yet and the terminal will retry)."""
    code = response_code or row.response_code
    assert code is not None, "a reversal is answered only once it has an answer"
    return {
        "t": "0410",
        "3": row.processing_code,
        "4": amount_field(row.amount_minor),
        "7": row.transmission_at,
        "11": row.stan,
        "39": code,
        "41": row.terminal_id,
        "42": row.merchant_id,
        "49": currency_numeric(row.currency),
        "60": row.batch,
    }


def status_response(request: Message, response_code: str, row: Row[Any] | None = None) -> Message:
    """The 0610 answering a status query: `response_code` says done (00, with the stored
    answer of journal row `row`), in progress (09), not found (25) or why not (58)."""
    response: Message = {
        "t": response_mti(request["t"]),
        "39": response_code,
        **{field: request[field] for field in ("3", "4", "7", "11", "41", "42", "49", "60")},
    }
    if row is not None:
        stored = card_response(row)
        response |= {
            "3": stored["3"],
            "4": amount_field(row.amount_minor),
            "37": stored["37"],
            "44": stored["39"],
            "49": stored["49"],
        }
        response |= {field: stored[field] for field in ("38", "48", "54", "55") if field in stored}
    return response
