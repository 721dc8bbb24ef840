"""The demo, run as a user runs it: the verdict, the counts, and no card number anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pospay.issuer.test_cards import TEST_CARDS, UNKNOWN_CARD_PAN

Run = tuple[dict[str, Any], Path, Path, int]
ALL_PANS = [card.pan for card in TEST_CARDS] + [UNKNOWN_CARD_PAN]


def run_pospay(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, in a process of its own."""
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "pospay", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("demo")
    data, out = root / "data", root / "out"
    result = run_pospay("demo", "--data-dir", str(data), "--out", str(out), "--json")
    return json.loads(result.stdout), data, out, result.returncode


def test_demo_agrees_and_exits_zero(demo_run: Run) -> None:
    summary, _data, _out, exit_code = demo_run
    assert exit_code == 0
    assert summary["agreement"] is True
    assert summary["findings"] == [] and summary["unexpected"] == []


def test_demo_counts_cover_types_methods_and_outcomes(
    demo_run: Run,
) -> None:
    summary, _data, out, _ = demo_run
    attempts = summary["attempts"]
    assert isinstance(attempts, int) and 40 <= attempts <= 60
    for key in ("by_type", "by_method", "by_outcome"):
        counts = summary[key]
        assert isinstance(counts, dict) and sum(counts.values()) == attempts
    assert set(summary["by_type"]) == {"sale", "balance_inquiry"}
    assert set(summary["by_method"]) == {"card_chip", "card_contactless", "card_magstripe"}
    assert set(summary["by_outcome"]) == {"approved", "declined"}
    codes = summary["by_response_code"]
    assert isinstance(codes, dict) and {"00", "05", "14", "51", "54", "62"} <= set(codes)
    # Two receipts (customer and merchant copy) per approved sale, each as text and ESC/POS.
    approved_sales = (
        attempts - summary["by_outcome"]["declined"] - summary["by_type"]["balance_inquiry"]
    )
    assert len(list(out.glob("*.txt"))) == len(list(out.glob("*.escpos"))) == 2 * approved_sales


def test_no_full_card_number_in_anything_the_demo_wrote(demo_run: Run) -> None:
    _summary, data, out, _ = demo_run
    files = [path for path in [*data.rglob("*"), *out.rglob("*")] if path.is_file()]
    assert any(path.suffix == ".db" for path in files) and any(
        path.suffix == ".log" for path in files
    )
    for path in files:
        content = path.read_bytes()
        for pan in ALL_PANS:
            for form in (pan.encode("ascii"), pan.encode("utf-16-le")):
                assert form not in content, f"full PAN ending {pan[-4:]} found in {path.name}"


def test_human_summary_names_the_verdict(tmp_path: Path) -> None:
    result = run_pospay("demo", "--data-dir", str(tmp_path / "d"), "--out", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    assert "AGREE" in result.stdout and "一致" in result.stdout
