"""Online PIN: ISO 9564 format 0 PIN blocks, the host's translation, the issuer's check.

The terminal encrypts the format 0 PIN block under its PIN key (TPK) and sends it in
field 52, with field 53 saying how (`PIN_SECURITY_CONTROL`). The host translates the
block from the TPK to the zone PIN key it shares with the issuer, as an HSM would
(decrypt and re-encrypt in one call, the clear block never leaving it), and the issuer
recovers the PIN and checks it against the card's IBM 3624 offset. No PIN block, clear
or encrypted, is ever stored or logged. Format 4 (AES) is not used: every key on this
link is double-length TDES, and format 0 is the format for TDES keys.
"""

from __future__ import annotations

import hmac

from pospay.security import _psec

# Field 53: PIN block format 00 (ISO 9564 format 0), key type 02 (double-length TDES
# TPK from the last sign-in), then twelve zeros.
PIN_SECURITY_CONTROL = "0002000000000000"


def encrypt_pin_block(pin: str, pan: str, pin_key: bytes) -> str:
    """Field 52: the format 0 PIN block of `pin` for `pan`, encrypted under `pin_key`."""
    return _psec.encrypt_ecb(pin_key, _psec.pin_block_iso_0(pin, pan)).hex().upper()


def translate_pin_block(block: bytes, from_key: bytes, to_key: bytes) -> bytes:
    """The PIN block `block` (under `from_key`) re-encrypted under `to_key`."""
    return _psec.encrypt_ecb(to_key, _psec.decrypt_ecb(from_key, block))


def pin_offset(pin: str, pan: str, verification_key: bytes, table: str) -> str:
    """The IBM 3624 offset of `pin` (what the issuer stores instead of the PIN)."""
    return _psec.ibm3624_offset(verification_key, table, pin, pan)


def pin_offset_of_block(
    block: bytes, pan: str, pin_key: bytes, verification_key: bytes, table: str
) -> str | None:
    """The IBM 3624 offset of the PIN in `block` (under `pin_key`), or None when the block
    does not decode as format 0 for `pan`. The PIN itself never leaves this function:
    an issuer stores the offset of a PIN chosen at the terminal, never the PIN."""
    try:
        pin = _psec.pin_of_iso_0(_psec.decrypt_ecb(pin_key, block), pan)
    except ValueError:
        return None
    return pin_offset(pin, pan, verification_key, table)


def pin_matches(
    block: bytes, pan: str, pin_key: bytes, offset: str, verification_key: bytes, table: str
) -> bool:
    """Whether the PIN in `block` (under `pin_key`) is the one whose offset is `offset`.
    A block that does not decode as format 0 for `pan` does not match."""
    found = pin_offset_of_block(block, pan, pin_key, verification_key, table)
    if found is None or len(found) != len(offset):
        return False
    return hmac.compare_digest(found, offset)
