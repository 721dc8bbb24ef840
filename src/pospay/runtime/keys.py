"""Secret keys kept in the data directory, created on first use, readable by the owner only.

These are keys of the simulators and of the embedded default set-up (the keyed PAN
references of the host and the issuer, each terminal's receipt signing key). A
production host takes its keys from an HSM; the seam for that is this module.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The key stored at `path`; a new random key is written there if none exists."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise ValueError(f"key file {path} holds {len(key)} bytes, expected {KEY_BYTES}")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


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
