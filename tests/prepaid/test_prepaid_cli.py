"""`pospay prepaid` and `pospay serve --prepaid-bin` refuse what they cannot use, by name.
(Their answers on real books are checked on the demo's: tests/demo/test_demo.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from demo_runs import run_pospay
from pospay.runtime import HostNode


def test_without_a_host_s_data_each_command_says_what_is_missing(tmp_path: Path) -> None:
    for command in ("report", "expire"):
        result = run_pospay("prepaid", command, "--data-dir", str(tmp_path))
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"no host database at {tmp_path / 'host.db'}" in result.stderr
    card = ["--card", "8891000012345679"]
    result = run_pospay("prepaid", "statement", "--data-dir", str(tmp_path), *card)
    assert result.returncode == 2
    assert f"no prepaid card key at {tmp_path / 'keys' / 'prepaid-pan.key'}" in result.stderr


async def _host_once(data_dir: Path) -> None:
    url = f"sqlite:///{data_dir / 'host.db'}"
    async with HostNode(url, url, data_dir / "keys", iso_port=0):
        pass


def test_a_statement_names_a_bad_number_and_a_card_never_issued(tmp_path: Path) -> None:
    asyncio.run(_host_once(tmp_path))
    data = str(tmp_path)
    bad = run_pospay("prepaid", "statement", "--data-dir", data, "--card", "8891000012345678")
    assert bad.returncode == 2 and "fails the Luhn check" in bad.stderr
    unknown = run_pospay("prepaid", "statement", "--data-dir", data, "--card", "8891000012345679")
    assert unknown.returncode == 2 and "never issued this card" in unknown.stderr
    assert "8891000012345679" not in unknown.stdout + unknown.stderr
    empty = run_pospay("prepaid", "report", "--data-dir", data, "--json")
    assert empty.returncode == 0 and '"balanced": true' in empty.stdout
    expired = run_pospay("prepaid", "expire", "--data-dir", data)
    assert expired.returncode == 0 and "0 cards expired" in expired.stdout


def test_serve_refuses_a_bin_that_cannot_be_one(tmp_path: Path) -> None:
    result = run_pospay("serve", "--prepaid-bin", "12", "--data-dir", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "--prepaid-bin" in result.stderr and "6 to 11 digits" in result.stderr
