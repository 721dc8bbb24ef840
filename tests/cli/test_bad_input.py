"""Every `pospay` command meets bad configuration and bad input with one line on stderr
naming the fault, and exit 2: never a traceback (issue 21, item 7).

Each case runs the real entry point in a process of its own, with ``POSPAY_TRACEBACK=1``
(as every test's children have it, `tests/conftest.py`), so a case that only reached the
last-resort boundary of `pospay.cli.app.main` would show its traceback and fail here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_runs import TMK, UNREACHABLE_PG, assert_one_line, key_file, pospay
from pospay.storage import migrate, open_engine
from pospay.storage.database import sqlite_url


@pytest.fixture
def keys_env(tmp_path: Path) -> dict[str, str]:
    """The environment with a proper host key file in POSPAY_HOST_KEYS, so `pospay serve`
    gets past its keys to the fault a case is about."""
    path = tmp_path / "host-keys.json"
    path.write_text(json.dumps(key_file(TMK)), encoding="utf-8")
    return os.environ | {"POSPAY_HOST_KEYS": str(path)}


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something (this test) is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_an_iso_port_out_of_range_is_named(tmp_path: Path, keys_env: dict[str, str]) -> None:
    result = pospay("serve", "--iso-port", "99999", "--data-dir", str(tmp_path), env=keys_env)
    assert_one_line(result, "--iso-port", "65535")


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["serve", "--iso-port", "0", "--alipay-port", "{port}"], "alipay"),
        (["wallet", "serve", "--alipay-port", "0", "--wechat-port", "{port}"], "wechat"),
        (["printer", "serve", "--port", "0", "--control-port", "{port}"], "control"),
    ],
    ids=["serve", "wallet serve", "printer serve"],
)
def test_a_port_in_use_is_named_with_its_service(
    command: list[str], named: str, tmp_path: Path, keys_env: dict[str, str], taken_port: int
) -> None:
    arguments = [argument.format(port=taken_port) for argument in command]
    where = ["--out" if command[0] == "printer" else "--data-dir", str(tmp_path)]
    assert_one_line(pospay(*arguments, *where, env=keys_env), named, str(taken_port))


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--iso-port", "0"],
        ["wallet", "serve", "--alipay-port", "0", "--wechat-port", "0"],
        ["prepaid", "report"],
        ["receipt", "audit"],
        ["receipt", "export", "--out", "chain.json"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_a_database_server_that_does_not_answer_is_named(
    command: list[str], tmp_path: Path, keys_env: dict[str, str]
) -> None:
    result = pospay(*command, "--data-dir", str(tmp_path), "--db", UNREACHABLE_PG, env=keys_env)
    assert_one_line(result, "127.0.0.1:1", "cannot connect")


@pytest.mark.parametrize("command", [["serve", "--iso-port", "0"], ["prepaid", "report"]])
def test_a_database_without_a_driver_is_named(
    command: list[str], tmp_path: Path, keys_env: dict[str, str]
) -> None:
    result = pospay(*command, "--data-dir", str(tmp_path), "--db", "mysql://foo", env=keys_env)
    assert_one_line(result, "mysql://foo")


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--iso-port", "0"],
        ["wallet", "serve", "--alipay-port", "0", "--wechat-port", "0"],
        ["printer", "serve", "--port", "0"],
    ],
    ids=lambda command: command[0],
)
def test_an_address_that_does_not_resolve_is_named(
    command: list[str], tmp_path: Path, keys_env: dict[str, str]
) -> None:
    where = ["--out", str(tmp_path)] if command[0] == "printer" else ["--data-dir", str(tmp_path)]
    result = pospay(*command, *where, "--host", "nosuch.invalid", env=keys_env)
    assert_one_line(result, "nosuch.invalid")


def damaged(path: Path, how: str) -> None:
    """A host database (host and prepaid tables) at `path`, then truncated or replaced."""
    engine = open_engine(sqlite_url(path))
    migrate(engine, "host", "prepaid", "terminal")
    engine.dispose()
    if how == "truncated":
        with path.open("r+b") as handle:
            handle.truncate(path.stat().st_size // 3)
    else:
        path.write_bytes(b"these are not the bytes of a database\n" * 200)


@pytest.mark.parametrize("how", ["truncated", "not a database"])
@pytest.mark.parametrize(
    ("command", "file"),
    [
        (["prepaid", "report"], "host.db"),
        (["serve", "--iso-port", "0", "--no-wallets"], "host.db"),
        (["receipt", "audit"], "terminal.db"),
    ],
    ids=lambda value: value if isinstance(value, str) else value[0],
)
def test_a_damaged_database_file_is_named(
    command: list[str], file: str, how: str, tmp_path: Path, keys_env: dict[str, str]
) -> None:
    damaged(tmp_path / file, how)
    result = pospay(*command, "--data-dir", str(tmp_path), env=keys_env)
    assert_one_line(result, file, "damaged")


@pytest.mark.parametrize("key", ["host-pan.key", "issuer-pan.key"])
def test_a_damaged_key_file_of_the_data_directory_is_named(
    key: str, tmp_path: Path, keys_env: dict[str, str]
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / key).write_bytes(b"cut short")
    result = pospay(
        "serve", "--iso-port", "0", "--no-wallets", "--data-dir", str(tmp_path), env=keys_env
    )
    assert_one_line(result, key, "9 bytes", "backup")
    assert (tmp_path / "keys" / key).read_bytes() == b"cut short"  # not replaced


def test_qr_check_takes_a_long_payload_as_a_payload() -> None:
    result = pospay("qr", "check", "0002010102" + "1" * 300)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr  # a code, judged: refused
    assert result.stdout.startswith("bad_length"), result.stdout


def test_qr_check_blames_the_currency_not_the_amount() -> None:
    result = pospay("qr", "check", "00020101021229", "--amount", "10.00", "--currency", "XXX1")
    line = assert_one_line(result, "--currency", "XXX1")
    assert "--amount" not in line


def test_an_unexpected_error_is_one_line_and_not_exit_2() -> None:
    """The last resort: a bug is one line naming the exception, exit 70; with
    POSPAY_TRACEBACK=1 it shows its traceback, so a test never loses it."""
    program = (
        "from pospay.cli.app import app, main\n"
        "@app.command()\n"
        "def boom() -> None:\n"
        "    raise RuntimeError('a deliberate bug')\n"
        "main(['boom'])\n"
    )
    quiet = {k: v for k, v in os.environ.items() if k != "POSPAY_TRACEBACK"}
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", program], capture_output=True, text=True, env=quiet, check=False
    )
    assert result.returncode == 70
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "pospay boom: unexpected error, a bug in pospay: RuntimeError: a deliberate bug "
        "(run again with POSPAY_TRACEBACK=1 for the traceback, and report it)"
    ]
    loud = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=quiet | {"POSPAY_TRACEBACK": "1"},
        check=False,
    )
    assert "Traceback" in loud.stderr and "a deliberate bug" in loud.stderr


def test_a_usage_error_is_one_line() -> None:
    result = pospay("receipt", "export", "--counter", "0", "--data-dir", ".", "--out", "x")
    assert_one_line(result, "--counter", "pospay receipt export")
