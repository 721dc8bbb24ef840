"""The message authentication code of the terminal-host link (field 64).

Every message except network management (08xx: sign-in) carries field 64, in requests
and responses alike, keyed with the terminal's MAC key (TAK) from its last sign-in.

The MAC is ISO/IEC 9797-1 MAC algorithm 3 (the "retail MAC") with padding method 2,
key 1 the left and key 2 the right half of the TAK, over the message packed exactly as
it travels **without** field 64 (so bit 64 of the bitmap clear). The sender packs
without field 64, computes the MAC, adds field 64 and packs again. The host checks a
request over the bytes it received (`received_mac_valid`): those bytes with field 64's
value taken out and bit 64 cleared, never a re-packing of what it decoded, so that
nothing the decoder might forgive can slip under a valid MAC. ``docs/iso8583.md``
(section 2.1) has a worked example.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pospay.iso8583.codec import Message, Received, encode
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


def received_mac_valid(request: Received, mac_key: bytes) -> bool:
    """Whether `request` carries field 64 and it is the MAC of the bytes it arrived as,
    without field 64 and with bit 64 clear."""
    received = request.message.get(MAC_FIELD)
    if received is None:
        return False
    expected = _psec.retail_mac(mac_key, request.without(MAC_FIELD)).hex().upper()
    return hmac.compare_digest(received, expected)
