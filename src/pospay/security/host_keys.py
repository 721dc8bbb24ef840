"""The acquiring host's own keys: each terminal's master key (TMK) and the key-encryption
key (KEK) that wraps the working keys the host stores.

A real host loads them from a key file (`pospay serve --keys FILE`, or the environment
variable ``POSPAY_HOST_KEYS`` naming the file or holding its text), written at the key
ceremony that loaded each terminal's TMK. The file is JSON:

    {
      "format": "pospay-host-keys/1",
      "key_encryption_key": "<32, 48 or 64 hex digits: an AES key>",
      "previous_key_encryption_key": "<the same, only while rotating it>",
      "terminal_master_keys": {
        "10000001": {"key": "<32 hex digits>", "kcv": "<6 hex digits>"},
        "*": {"key": "<32 hex digits>", "kcv": "<6 hex digits>"}
      }
    }

A TMK is a double-length TDES key (16 bytes, every byte of odd parity, its two halves
different) with its key check value (`security.keys.key_check_value`), under the
terminal id (8 characters, field 41) or under ``*`` for every terminal not named. A
terminal with no TMK in the file cannot sign in. The KEK wraps each terminal's working
keys in the host's database; to rotate it, the old one goes in
``previous_key_encryption_key`` for one start of the host, which wraps them again.
The documented test keys (`security.test_keys`) are refused unless the caller allows
them (`--test-keys`). Parsing is pure; reading the file or the environment is `runtime.keys`'s.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pospay.errors import BadHostKeys
from pospay.security.keys import KCV_BYTES, KEY_BYTES, key_check_value
from pospay.security.test_keys import (
    TEST_IMK_AC,
    TEST_PIN_VERIFICATION_KEY,
    TEST_TMK,
    TEST_ZONE_PIN_KEY,
)

KEY_FILE_FORMAT = "pospay-host-keys/1"
ANY_TERMINAL = "*"
TERMINAL_ID_LENGTH = 8
KEK_LENGTHS = (16, 24, 32)  # AES key wrap (RFC 3394) takes an AES-128, -192 or -256 key
_KEKS = ("key_encryption_key", "previous_key_encryption_key")
_DOCUMENTED_TEST_KEYS = frozenset(
    {TEST_TMK, TEST_ZONE_PIN_KEY, TEST_PIN_VERIFICATION_KEY, TEST_IMK_AC}
)


@dataclass(frozen=True, slots=True)
class HostKeys:
    """The keys a host runs with. `master_key_of` is `HostSettings.master_key_of`."""

    key_encryption_key: bytes = field(repr=False)
    terminal_master_keys: Mapping[str, bytes] = field(repr=False)
    default_master_key: bytes | None = field(default=None, repr=False)
    # The key-encryption key being rotated out: stored working keys still under it are
    # wrapped again under `key_encryption_key` when the host starts.
    previous_key_encryption_key: bytes | None = field(default=None, repr=False)
    # Whether these are the documented test keys (`--test-keys`), for the start-up line.
    test_keys: bool = False

    def master_key_of(self, terminal_id: str) -> bytes | None:
        """The TMK of `terminal_id`, the default one, or None: no sign-in for it."""
        return self.terminal_master_keys.get(terminal_id, self.default_master_key)

    def describe(self) -> str:
        """What was loaded, without a key: for the host's start-up line."""
        named = len(self.terminal_master_keys)
        default = "; any other terminal: the default TMK" if self.default_master_key else ""
        kind = "the documented TEST keys (never for real cards)" if self.test_keys else "keys"
        return f"{kind}: TMKs of {named} terminals{default}"


def documented_test_keys(key_encryption_key: bytes) -> HostKeys:
    """The documented test TMK for every terminal, under `key_encryption_key`."""
    return HostKeys(key_encryption_key, {}, TEST_TMK, test_keys=True)


def parse_host_keys(text: str, *, allow_test_keys: bool) -> HostKeys:
    """The keys of a key file's `text`; `BadHostKeys` naming the first fault."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadHostKeys(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise BadHostKeys("not a JSON object")
    if document.get("format") != KEY_FILE_FORMAT:
        raise BadHostKeys(f'"format" is {document.get("format")!r}, expected {KEY_FILE_FORMAT!r}')
    unknown = sorted(set(document) - {"format", *_KEKS, "terminal_master_keys"})
    if unknown:
        raise BadHostKeys(f"unknown entries {', '.join(unknown)}")
    kek = _key_encryption_key(document.get(_KEKS[0]), _KEKS[0])
    previous = None
    if _KEKS[1] in document:
        previous = _key_encryption_key(document[_KEKS[1]], _KEKS[1])
    entries = document.get("terminal_master_keys")
    if not isinstance(entries, dict) or not entries:
        raise BadHostKeys('"terminal_master_keys" must map terminal ids (or "*") to TMKs')
    tmks: dict[str, bytes] = {}
    for terminal_id, entry in entries.items():
        where = f"terminal_master_keys[{terminal_id!r}]"
        if terminal_id != ANY_TERMINAL and not _is_terminal_id(terminal_id):
            raise BadHostKeys(f"{where}: a terminal id is 8 printable characters, or *")
        tmk = _master_key(entry, where)
        if tmk in _DOCUMENTED_TEST_KEYS and not allow_test_keys:
            raise BadHostKeys(
                f"{where}: this is a documented test key, published to everyone: load "
                "the terminal's real TMK, or give --test-keys for a test bench"
            )
        tmks[terminal_id] = tmk
    default = tmks.pop(ANY_TERMINAL, None)
    test = allow_test_keys and any(
        key in _DOCUMENTED_TEST_KEYS for key in [*tmks.values(), default]
    )
    return HostKeys(kek, tmks, default, previous, test_keys=test)


def _key_encryption_key(value: Any, where: str) -> bytes:
    key = _hex(value, where)
    if len(key) not in KEK_LENGTHS:
        raise BadHostKeys(f"{where}: {len(key)} bytes, expected 16, 24 or 32 (an AES key)")
    return key


def _master_key(entry: Any, where: str) -> bytes:
    if not isinstance(entry, dict) or set(entry) != {"key", "kcv"}:
        raise BadHostKeys(f'{where}: expected {{"key": "<32 hex>", "kcv": "<6 hex>"}}')
    key = _hex(entry["key"], f"{where}.key")
    if len(key) != KEY_BYTES:
        raise BadHostKeys(
            f"{where}.key: {len(key)} bytes, expected {KEY_BYTES} (double-length TDES)"
        )
    even = [index for index, byte in enumerate(key) if bin(byte).count("1") % 2 == 0]
    if even:
        raise BadHostKeys(f"{where}.key: byte {even[0] + 1} is not of odd parity (mistyped?)")
    if key[:8] == key[8:]:
        raise BadHostKeys(f"{where}.key: its two halves are equal (single-length DES)")
    kcv = _hex(entry["kcv"], f"{where}.kcv")
    expected = key_check_value(key)
    if len(kcv) != KCV_BYTES or not hmac.compare_digest(kcv, expected):
        raise BadHostKeys(
            f"{where}.kcv: the key's check value is {expected.hex().upper()}, the file says "
            f"{kcv.hex().upper()}: the key or the KCV was mistyped"
        )
    return key


def _hex(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise BadHostKeys(f"{where}: missing, or not a string of hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise BadHostKeys(f"{where}: not hex digits") from None


def _is_terminal_id(text: str) -> bool:
    return len(text) == TERMINAL_ID_LENGTH and text.isascii() and text.isprintable()
