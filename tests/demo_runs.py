"""Running `pospay demo` as a user runs it, and reading what it left behind (tests/demo)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from pospay.clock import SystemClock
from pospay.demo.prepaid_day import demo_prepaid_cards
from pospay.issuer.test_cards import TEST_CARDS, UNKNOWN_CARD_PAN
from pospay.transaction import Kind

# The card numbers the demo (seed 1) reads: the test cards, and its prepaid stock.
PREPAID_PANS = [card.pan for card in demo_prepaid_cards(1, SystemClock().now())]
ALL_PANS = [card.pan for card in TEST_CARDS] + [UNKNOWN_CARD_PAN] + PREPAID_PANS
# The kinds whose approvals print no receipt: they move no money.
_NO_RECEIPT = [kind.value for kind in Kind if not kind.moves_money]
_VOUCHER = re.compile(r"VOUCHER NO\.\s+(\d{6})")
_COPY = re.compile(r"(CARDHOLDER|MERCHANT) COPY")


def run_pospay(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, in a process of its own."""
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "pospay", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def approved_money_moving(summary: dict[str, Any]) -> int:
    """The approved attempts of a demo summary that moved money (and so printed two
    receipts): every approval but those of kinds that move none, all of which the demo's
    plan expects approved."""
    approved = int(summary["by_outcome"]["approved"])
    return approved - sum(int(summary["by_type"].get(kind, 0)) for kind in _NO_RECEIPT)


def files_under(*folders: Path) -> list[Path]:
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


def assert_no_full_pan(files: list[Path]) -> None:
    """No test card's full number, in ASCII or UTF-16, in any of `files`."""
    for path in files:
        content = path.read_bytes()
        for pan in ALL_PANS:
            for form in (pan.encode("ascii"), pan.encode("utf-16-le")):
                assert form not in content, f"full PAN ending {pan[-4:]} found in {path.name}"


def printed_receipts(out: Path) -> Counter[tuple[str, str]]:
    """How often each (voucher, copy) receipt came out of the virtual printer, read from
    the text it wrote for each job."""
    printed: Counter[tuple[str, str]] = Counter()
    for path in sorted(out.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        voucher, copy = _VOUCHER.search(text), _COPY.search(text)
        if voucher is not None and copy is not None:
            printed[(voucher.group(1), copy.group(1).lower())] += 1
    return printed
