"""Running `pospay` as a user runs it and reading its one-line faults (tests/cli)."""

from __future__ import annotations

import subprocess
import sys

from pospay.security.keys import key_check_value

UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:1/x"
# A TMK that is not a documented test key (odd parity, halves different).
TMK = bytes.fromhex("1F2F3B4C5D6E7F8089919DA1B3C4D5E6")


def pospay(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "pospay", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *names: str) -> str:
    """Exit 2, no traceback, and one line on stderr that contains each of `names`."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if _ours(line)]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


def _ours(line: str) -> bool:
    # `pospay serve` logs at INFO to stderr (migrations, start-up); the fault is ours.
    return line.startswith(("pospay", "error:")) and " INFO " not in line


def key_file(tmk: bytes, terminal: str = "*") -> dict[str, object]:
    return {
        "format": "pospay-host-keys/1",
        "key_encryption_key": "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
        "terminal_master_keys": {
            terminal: {"key": tmk.hex().upper(), "kcv": key_check_value(tmk).hex().upper()}
        },
    }
