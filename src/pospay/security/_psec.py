"""The one adapter between pospay and psec: every psec call pospay makes goes through here.

psec 1.3 builds its ciphers with ``cryptography.hazmat.primitives.ciphers.algorithms.
TripleDES``, which cryptography has moved to ``hazmat.decrepit`` and reaches through a
module ``__getattr__`` that emits ``CryptographyDeprecationWarning`` ("TripleDES has been
moved to cryptography.hazmat.decrepit..."). Tests run with warnings as errors, so each
call below silences exactly that warning category, raised from psec's own modules, for
the duration of the call and nothing else. TDES is what the link uses on purpose (the
terminals it serves speak TDES); the warning is about where the class lives.

`warnings.catch_warnings` swaps the process-wide filter list, and psec is called from the
storage worker threads too, so the swap is serialised by a lock: two overlapping calls
could otherwise restore each other's lists and let the warning through.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psec.des
import psec.mac
import psec.pin
import psec.pinblock
from cryptography.utils import CryptographyDeprecationWarning

T = TypeVar("T")

_FILTERS_LOCK = threading.Lock()


@contextmanager
def _psec_tdes() -> Iterator[None]:
    with _FILTERS_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"psec\.")
        yield


def _quiet(call: Callable[[], T]) -> T:
    with _psec_tdes():
        return call()


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
