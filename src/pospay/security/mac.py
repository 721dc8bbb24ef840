"""The message authentication code of the terminal-host link (field 64).

Every message except network management (08xx: sign-in) carries field 64, in requests
and responses alike, keyed with the terminal's MAC key (TAK) from its last sign-in.

The MAC is ISO/IEC 9797-1 MAC algorithm 3 (the "retail MAC") with padding method 2,
key 1 the left and key 2 the right half of the TAK, over the message packed exactly as
it would travel **without** field 64 (so bit 64 of the bitmap clear). The sender then
adds field 64 and packs again; the receiver removes field 64 from what it decoded,
packs the rest, and compares. ``docs/iso8583.md`` (section 2.1) has a worked example.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pospay.iso8583.codec import Message, encode
from pospay.security import _psec

MAC_FIELD = "64"


def needs_mac(mti: str) -> bool:
    """Whether a message of this MTI carries a MAC: all but network management."""
    return not mti.startswith("08")


def mac_input(message: Mapping[str, str]) -> bytes:
    """The bytes the MAC covers: `message` packed without field 64."""
    return encode({key: value for key, value in message.items() if key != MAC_FIELD})


def mac_of(message: Mapping[str, str], mac_key: bytes) -> str:
    """Field 64 for `message` (16 hex digits)."""
    return _psec.retail_mac(mac_key, mac_input(message)).hex().upper()


def with_mac(message: Mapping[str, str], mac_key: bytes) -> Message:
    """`message` with its field 64."""
    return {**message, MAC_FIELD: mac_of(message, mac_key)}


def mac_valid(message: Mapping[str, str], mac_key: bytes) -> bool:
    """Whether `message` carries field 64 and it is the MAC of the rest."""
    received = message.get(MAC_FIELD)
    if received is None:
        return False
    return hmac.compare_digest(received.upper(), mac_of(message, mac_key))
