"""The pospay terminal-host message layout, as a pyiso8583 specification.

`SPEC` is plain data: the MTI is 4 ASCII digits, bitmaps are binary, numeric and
text fields are ASCII, and the PIN block, ICC data and MAC are binary. Field lengths
of variable fields are ASCII digits (LL or LLL). A message travels in a frame of a
2-byte big-endian length followed by the packed message (see `pospay.iso8583.framing`).

``docs/iso8583.md`` documents every message, field by field; this module is the part
a program reads.
"""

from __future__ import annotations

from typing import Any

SpecField = dict[str, Any]


def _fixed(enc: str, length: int, desc: str) -> SpecField:
    return {"data_enc": enc, "len_enc": "ascii", "len_type": 0, "max_len": length, "desc": desc}


def _var(enc: str, len_digits: int, max_len: int, desc: str) -> SpecField:
    return {
        "data_enc": enc,
        "len_enc": "ascii",
        "len_type": len_digits,
        "max_len": max_len,
        "desc": desc,
    }


SPEC: dict[str, SpecField] = {
    "h": _fixed("ascii", 0, "Message header (none)"),
    "t": _fixed("ascii", 4, "Message type indicator"),
    "p": _fixed("b", 8, "Primary bitmap"),
    "1": _fixed("b", 8, "Secondary bitmap"),
    "2": _var("ascii", 2, 19, "Primary account number (PAN)"),
    "3": _fixed("ascii", 6, "Processing code"),
    "4": _fixed("ascii", 12, "Amount, transaction (minor units)"),
    "7": _fixed("ascii", 10, "Transmission date and time (MMDDhhmmss, UTC)"),
    "11": _fixed("ascii", 6, "System trace audit number (STAN)"),
    "12": _fixed("ascii", 6, "Time, local transaction (hhmmss)"),
    "13": _fixed("ascii", 4, "Date, local transaction (MMDD)"),
    "14": _fixed("ascii", 4, "Date, expiration (YYMM)"),
    "15": _fixed("ascii", 4, "Date, settlement (MMDD)"),
    "22": _fixed("ascii", 3, "POS entry mode"),
    "23": _fixed("ascii", 3, "Card sequence number"),
    "25": _fixed("ascii", 2, "POS condition code"),
    "32": _var("ascii", 2, 11, "Acquiring institution identification code"),
    "35": _var("ascii", 2, 37, "Track 2 equivalent data"),
    "37": _fixed("ascii", 12, "Retrieval reference number (RRN)"),
    "38": _fixed("ascii", 6, "Authorisation identification response"),
    "39": _fixed("ascii", 2, "Response code"),
    "41": _fixed("ascii", 8, "Card acceptor terminal identification"),
    "42": _fixed("ascii", 15, "Card acceptor identification code (merchant number)"),
    "44": _var("ascii", 2, 25, "Additional response data"),
    "48": _var("ascii", 3, 512, "Additional data, private: QR payment"),
    "49": _fixed("ascii", 3, "Currency code, transaction (ISO 4217 numeric)"),
    "52": _fixed("b", 8, "Personal identification number (PIN) data"),
    "53": _fixed("ascii", 16, "Security related control information"),
    "54": _var("ascii", 3, 120, "Additional amounts (balances)"),
    "55": _var("b", 3, 255, "ICC system related data (EMV TLV)"),
    "60": _var("ascii", 3, 30, "Reserved private: batch number"),
    "62": _var("b", 3, 128, "Reserved private: working keys"),
    "63": _var("ascii", 3, 512, "Reserved private: operator, settlement totals"),
    "64": _fixed("b", 8, "Message authentication code (MAC)"),
    "70": _fixed("ascii", 3, "Network management information code"),
    "90": _fixed("ascii", 42, "Original data elements"),
    "103": _var("ascii", 2, 28, "Account identification 2 (transfer target card)"),
    "128": _fixed("b", 8, "Message authentication code (MAC), secondary"),
}
