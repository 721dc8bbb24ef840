"""`pospay serve` runs on the keys it is given: a key file (`--keys`, POSPAY_HOST_KEYS)
with each terminal's TMK and its key-encryption key, and the documented test keys only
with `--test-keys` (issue 21, item 14)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from cli_runs import TMK, assert_one_line, key_file, pospay
from nodes import RecordingPrinter
from pospay.errors import BadHostKeys, KeyCheckFailed
from pospay.issuer.test_cards import TEST_CARDS
from pospay.money import Money
from pospay.runtime import TerminalNode
from pospay.security.host_keys import parse_host_keys
from pospay.security.keys import key_check_value
from pospay.security.test_keys import TEST_TMK
from pospay.storage.database import sqlite_url
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.transaction import Method

LISTENING = re.compile(r"pospay host listening on [\d.]+:(?P<port>\d+)")
CONFIG = TerminalConfig(
    terminal_id="30000001",
    merchant_id="898310048160003",
    merchant_name="密钥商户 KEY SHOP",
    master_key=TMK,
)


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def without_keys_variable() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "POSPAY_HOST_KEYS"}


def test_serve_refuses_to_start_without_keys(tmp_path: Path) -> None:
    result = pospay("serve", "--data-dir", str(tmp_path), env=without_keys_variable())
    assert_one_line(result, "no host keys", "--keys", "--test-keys")
    assert not (tmp_path / "host.db").exists()


def test_serve_refuses_the_test_tmk_in_a_key_file_without_test_keys(tmp_path: Path) -> None:
    keys = write(tmp_path / "keys.json", key_file(TEST_TMK))
    result = pospay(
        "serve", "--keys", str(keys), "--data-dir", str(tmp_path), env=without_keys_variable()
    )
    assert_one_line(result, "documented test key", "--test-keys")


def test_serve_refuses_a_key_file_from_the_environment_with_a_wrong_kcv(tmp_path: Path) -> None:
    document = key_file(TMK)
    document["terminal_master_keys"] = {"30000001": {"key": TMK.hex(), "kcv": "000000"}}
    environment = without_keys_variable() | {"POSPAY_HOST_KEYS": json.dumps(document)}
    result = pospay("serve", "--data-dir", str(tmp_path), env=environment)
    assert_one_line(result, "POSPAY_HOST_KEYS", "kcv", key_check_value(TMK).hex().upper())


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"format": "keys/0"}, "format"),
        ({"key_encryption_key": "0011"}, "key_encryption_key: 2 bytes"),
        ({"terminal_master_keys": {"123": None}}, "a terminal id is 8"),
        ({"terminal_master_keys": {"*": {"key": "0123", "kcv": "000000"}}}, "2 bytes"),
        ({"terminal_master_keys": {"*": {"key": "00" * 16, "kcv": "000000"}}}, "odd parity"),
        ({"terminal_master_keys": {"*": {"key": "01" * 16, "kcv": "000000"}}}, "halves"),
        ({"extra": 1}, "unknown entries extra"),
    ],
)
def test_a_key_file_fault_is_named(change: dict[str, object], named: str) -> None:
    with pytest.raises(BadHostKeys, match=named):
        parse_host_keys(json.dumps(key_file(TMK) | change), allow_test_keys=True)


def test_the_test_tmk_is_taken_with_test_keys() -> None:
    keys = parse_host_keys(json.dumps(key_file(TEST_TMK)), allow_test_keys=True)
    assert keys.master_key_of("99999999") == TEST_TMK
    assert keys.test_keys


def test_a_terminal_without_a_tmk_has_none() -> None:
    keys = parse_host_keys(json.dumps(key_file(TMK, "30000001")), allow_test_keys=False)
    assert keys.master_key_of("30000001") == TMK
    assert keys.master_key_of("30000002") is None


class Serving:
    """A `pospay serve` process of this test's, on a free port."""

    def __init__(self, arguments: list[str], log: Path) -> None:
        command = [sys.executable, "-m", "pospay", "serve", "--iso-port", "0", "--no-wallets"]
        with log.open("wb") as sink:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [*command, *arguments],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=without_keys_variable(),
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = LISTENING.search(log.read_text(errors="replace"))
            if found:
                self.port = int(found["port"])
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"pospay serve did not start: {log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Serving]:
    keys = write(tmp_path / "keys.json", key_file(TMK, CONFIG.terminal_id))
    running = Serving(["--keys", str(keys), "--data-dir", str(tmp_path / "host")], tmp_path / "log")
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.slow
async def test_a_terminal_signs_in_under_its_own_tmk_and_sells(
    serving: Serving, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "terminal.db")
    printer = RecordingPrinter()
    async with TerminalNode(CONFIG, url, "127.0.0.1", serving.port, printer) as terminal:
        assert await terminal.sign_in() == "00"
        card = next(card for card in TEST_CARDS if card.status == "active")
        outcome = await terminal.sale(
            CardRead.for_test_card(card, Method.CARD_CHIP), Money(1250, "CNY")
        )
        assert outcome.response_code == "00"
    other = replace(CONFIG, terminal_id="30000002")
    other_url = sqlite_url(tmp_path / "other.db")
    async with TerminalNode(other, other_url, "127.0.0.1", serving.port, printer) as stranger:
        assert await stranger.sign_in() == "58"  # the host holds no TMK for it


@pytest.mark.slow
async def test_a_terminal_on_the_test_tmk_cannot_sign_in_to_a_real_host(
    serving: Serving, tmp_path: Path
) -> None:
    config = replace(CONFIG, master_key=TEST_TMK)
    url = sqlite_url(tmp_path / "terminal.db")
    async with TerminalNode(config, url, "127.0.0.1", serving.port, RecordingPrinter()) as terminal:
        with pytest.raises(KeyCheckFailed):
            await terminal.sign_in()


@pytest.mark.slow
async def test_the_key_encryption_key_rotates_with_the_previous_one_named(tmp_path: Path) -> None:
    """A terminal signs in; the host comes back with a new KEK: refused in one line
    while the old one is not named, and with it named, the terminal's working keys
    (wrapped again) still serve its next sale, no new sign-in needed."""
    data_dir, url = tmp_path / "host", sqlite_url(tmp_path / "terminal.db")
    old = key_file(TMK, CONFIG.terminal_id)
    first = Serving(
        ["--keys", str(write(tmp_path / "old.json", old)), "--data-dir", str(data_dir)],
        tmp_path / "1.log",
    )
    try:
        async with TerminalNode(
            CONFIG, url, "127.0.0.1", first.port, RecordingPrinter()
        ) as terminal:
            assert await terminal.sign_in() == "00"
    finally:
        first.stop()
    new = old | {"key_encryption_key": "F0" * 32}
    refused = pospay(
        "serve", "--no-wallets", "--keys", str(write(tmp_path / "new.json", new)),
        "--data-dir", str(data_dir),
        env=without_keys_variable(),
    )  # fmt: skip
    assert_one_line(refused, "previous_key_encryption_key")
    rotating = new | {"previous_key_encryption_key": old["key_encryption_key"]}
    keys = write(tmp_path / "rotating.json", rotating)
    second = Serving(["--keys", str(keys), "--data-dir", str(data_dir)], tmp_path / "2.log")
    try:
        async with TerminalNode(
            CONFIG, url, "127.0.0.1", second.port, RecordingPrinter()
        ) as terminal:
            card = next(card for card in TEST_CARDS if card.status == "active")
            outcome = await terminal.sale(
                CardRead.for_test_card(card, Method.CARD_CHIP), Money(990, "CNY")
            )
            assert outcome.response_code == "00"
    finally:
        second.stop()
