"""`pospay prepaid` and `pospay serve --prepaid-bin` refuse what they cannot use, by name.
(Their answers on real books are checked on the demo's: tests/demo/test_demo.py.)"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from demo_runs import run_pospay
from pospay.channels import CardAuthorisation
from pospay.clock import SystemClock
from pospay.money import Money
from pospay.prepaid import TEST_PROGRAMME, PrepaidLedger, blank_cards, expiry_after
from pospay.runtime import HostNode
from pospay.storage import GroupCommitter, open_engine
from pospay.transaction import Kind

CARD = blank_cards(
    TEST_PROGRAMME, random.Random(3), 1, expiry=expiry_after(SystemClock().now(), 12)
)[0]


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


async def test_a_statement_names_a_bad_number_and_a_card_never_issued(tmp_path: Path) -> None:
    await _host_once(tmp_path)
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
    result = run_pospay(
        "serve", "--test-keys", "--prepaid-bin", "12", "--data-dir", str(tmp_path), timeout=60
    )
    assert result.returncode == 2
    assert "--prepaid-bin" in result.stderr and "6 to 11 digits" in result.stderr


async def _ledger_answers(data_dir: Path, steps: list[tuple[Kind, int]]) -> list[str]:
    """Run `steps` on card CARD through the host's own prepaid ledger; their codes."""
    engine = open_engine(f"sqlite:///{data_dir / 'host.db'}")
    key = (data_dir / "keys" / "prepaid-pan.key").read_bytes()
    clock = SystemClock()
    codes = []
    try:
        async with GroupCommitter(engine) as committer:
            ledger = PrepaidLedger(committer, clock, key)
            for kind, minor in steps:
                request = CardAuthorisation(
                    reference=uuid.uuid4().hex[:12],
                    kind=kind,
                    pan=CARD.pan,
                    expiry=CARD.expiry,
                    amount=Money(minor, "CNY"),
                    merchant_id="898310048160002",
                    terminal_id="20000001",
                    at=clock.now(),
                )
                codes.append((await ledger.authorise(request)).response_code)
    finally:
        engine.dispose()
    return codes


async def test_a_card_gets_limits_of_its_own(tmp_path: Path) -> None:
    await _host_once(tmp_path)
    opened = [(Kind.PREPAID_ISSUE, 0), (Kind.PREPAID_ACTIVATE, 0), (Kind.PREPAID_TOP_UP, 90_00)]
    assert await _ledger_answers(tmp_path, opened) == ["00", "00", "00"]
    data, card = str(tmp_path), ["--card", CARD.pan]
    bad = run_pospay(
        "prepaid",
        "limits",
        "--data-dir",
        data,
        *card,
        "--max-balance",
        "1.234",
        "--daily-spend",
        "20",
    )
    assert bad.returncode == 2 and "--max-balance" in bad.stderr
    done = run_pospay(
        "prepaid",
        "limits",
        "--data-dir",
        data,
        *card,
        "--max-balance",
        "100.00",
        "--daily-spend",
        "20.00",
    )
    assert done.returncode == 0, done.stderr
    assert "¥100.00" in done.stdout and CARD.pan not in done.stdout
    steps = [(Kind.PREPAID_TOP_UP, 10_01), (Kind.PREPAID_TOP_UP, 10_00), (Kind.SALE, 20_01)]
    assert await _ledger_answers(tmp_path, steps) == ["61", "00", "61"]
