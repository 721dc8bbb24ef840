"""A terminal's receipt signing key: a file of its own, made once, reused, owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pospay.receipts.signing import public_key_hex
from pospay.runtime.keys import (
    load_or_create_signing_key,
    load_signing_key,
    receipt_key_path,
)
from pospay.runtime.terminal_node import default_key_dir
from pospay.storage.database import sqlite_url


def test_the_key_is_made_once_and_read_back(tmp_path: Path) -> None:
    path = receipt_key_path(tmp_path / "keys", "10000001")
    assert path.name == "terminal-10000001-receipt.key"
    first = load_or_create_signing_key(path)
    again = load_signing_key(path)
    assert public_key_hex(first.public_key()) == public_key_hex(again.public_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32  # the seed only


def test_a_missing_key_is_not_made_by_a_reader(tmp_path: Path) -> None:
    path = receipt_key_path(tmp_path, "10000001")
    with pytest.raises(FileNotFoundError, match="no receipt signing key"):
        load_signing_key(path)
    assert not path.exists()


def test_a_sqlite_terminal_keeps_its_key_next_to_its_database(tmp_path: Path) -> None:
    assert default_key_dir(sqlite_url(tmp_path / "terminal.db")) == tmp_path / "keys"
    assert default_key_dir("postgresql+psycopg://postgres@127.0.0.1:5432/test") is None
    assert default_key_dir("sqlite://") is None
