"""Secret keys kept in the data directory, created on first use, readable by the owner only.

These are keys of the simulators and of the embedded default set-up (the keyed PAN
references of the host and the issuer, each terminal's receipt signing key), and the
loading of the host's own keys, its terminals' master keys and its key-encryption key,
from a key file or the environment (`load_host_keys`, the format in
`security.host_keys`). A production host takes its keys from an HSM; the seam for
that is this module.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pospay.errors import BadHostKeys, KeyFileUnusable
from pospay.security.host_keys import HostKeys, documented_test_keys, parse_host_keys

KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The key stored at `path`; a new random key is written there if none exists."""
    try:
        if path.exists():
            key = path.read_bytes()
            if len(key) != KEY_BYTES:
                raise KeyFileUnusable(
                    f"key file {path} holds {len(key)} bytes, not a {KEY_BYTES}-byte key: "
                    "restore it from a backup (a new key would orphan what it protects)"
                )
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        return key
    except OSError as error:
        raise KeyFileUnusable(f"key file {path}: {error.strerror or error}") from None


def receipt_key_path(key_dir: Path, terminal_id: str) -> Path:
    """Where a terminal's receipt signing key lives in a key directory."""
    return key_dir / f"terminal-{terminal_id}-receipt.key"


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key whose 32-byte seed is stored at `path`, created there if missing.
    The seed never leaves the file (and this process); the public key may be shared."""
    return Ed25519PrivateKey.from_private_bytes(load_or_create_key(path))


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key stored at `path`; `FileNotFoundError` if there is none."""
    if not path.exists():
        raise FileNotFoundError(f"no receipt signing key at {path}")
    return load_or_create_signing_key(path)


# The environment variable a host's keys may come from: a key file's path, or its text.
HOST_KEYS_VARIABLE = "POSPAY_HOST_KEYS"


def load_host_keys(
    key_file: Path | None, *, test_keys: bool, key_dir: Path, environ: Mapping[str, str]
) -> HostKeys:
    """The host's keys: from `key_file`, else from `POSPAY_HOST_KEYS` in `environ`, else
    (with `test_keys` only) the documented test TMK for every terminal and the key
    directory's own key-encryption key. `BadHostKeys` names what is wrong or missing."""
    source = None
    if key_file is not None:
        source = str(key_file)
        text = _read_key_file(key_file)
    elif value := environ.get(HOST_KEYS_VARIABLE, "").strip():
        source = HOST_KEYS_VARIABLE
        text = value if value.startswith("{") else _read_key_file(Path(value))
    elif test_keys:
        return documented_test_keys(load_or_create_key(key_dir / "host-kek.key"))
    if source is None:
        raise BadHostKeys(
            "no host keys: give --keys FILE (or set POSPAY_HOST_KEYS) with the terminals' "
            "master keys, or --test-keys for the documented test keys (never for real cards)"
        )
    try:
        return parse_host_keys(text, allow_test_keys=test_keys)
    except BadHostKeys as fault:
        raise BadHostKeys(f"host keys from {source}: {fault}") from None


def _read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadHostKeys(f"cannot read the key file {path}: {error}") from None
