"""The one adapter between pospay and psec: every psec call pospay makes goes through here.

Each call that builds a TDES cipher goes through `_tdes.quiet`, which silences
the deprecation warning psec 1.3 sets off by reaching cryptography's TripleDES through
its old location (and nothing else).
"""

from __future__ import annotations

import psec.des
import psec.mac
import psec.pin
import psec.pinblock

from pospay.security._tdes import quiet as _quiet


def encrypt_ecb(key: bytes, data: bytes) -> bytes:
    """TDES-ECB encryption of `data` (a multiple of 8 bytes) under a double-length `key`."""
    return _quiet(lambda: psec.des.encrypt_tdes_ecb(key, data))


def decrypt_ecb(key: bytes, data: bytes) -> bytes:
    """TDES-ECB decryption of `data` under a double-length `key`."""
    return _quiet(lambda: psec.des.decrypt_tdes_ecb(key, data))


def key_check_value(key: bytes) -> bytes:
    """The 3-byte key check value: `key` encrypting eight zero bytes, first 3 bytes."""
    return _quiet(lambda: psec.des.generate_kcv(key, 3))


def adjust_parity(key: bytes) -> bytes:
    """`key` with every byte set to odd parity, as DES keys are written."""
    return psec.des.adjust_key_parity(key)


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with padding method 2, 8 bytes, double-length `key`."""
    return _quiet(lambda: psec.mac.generate_retail_mac(key[:8], key[8:], data, padding=2))


def pin_block_iso_0(pin: str, pan: str) -> bytes:
    """The clear ISO 9564 format 0 PIN block of `pin` for `pan`."""
    return psec.pinblock.encode_pinblock_iso_0(pin, pan)


def pin_of_iso_0(block: bytes, pan: str) -> str:
    """The PIN held in a clear ISO 9564 format 0 PIN block; ValueError if malformed."""
    return psec.pinblock.decode_pinblock_iso_0(block, pan)


def ibm3624_offset(pvk: bytes, table: str, pin: str, pan: str) -> str:
    """The IBM 3624 PIN offset of `pin`, validation data the 12 PAN digits before the
    check digit."""
    return _quiet(
        lambda: psec.pin.generate_ibm3624_offset(pvk, table, pin, pan, len(pan) - 13, 12, "F")
    )
