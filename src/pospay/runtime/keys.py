"""Secret keys kept in the data directory, created on first use, readable by the owner only.

These are keys of the simulators and of the embedded default set-up (the keyed PAN
references of the host and the issuer). A production host takes its keys from an HSM;
the seam for that is this module.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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
