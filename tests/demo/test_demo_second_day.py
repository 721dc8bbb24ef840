"""`pospay demo --data-dir D` run again on the same D, as the README's examples do: the
second run is the shop's second trading day on the same databases (issue 21, item 7)."""

from __future__ import annotations

import json
from pathlib import Path

from demo_runs import PREPAID_PANS, files_under, printed_receipts, run_pospay
from pospay.clock import SystemClock
from pospay.demo.prepaid_day import demo_prepaid_cards


def test_a_second_run_on_the_same_data_directory_is_the_next_trading_day(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    first = run_pospay("demo", "--data-dir", str(data), "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    second = run_pospay("demo", "--data-dir", str(data), "--out", str(out), "--json")
    assert "Traceback" not in second.stderr, second.stderr
    assert second.returncode == 0, second.stderr
    day1, day2 = json.loads(first.stdout), json.loads(second.stdout)

    assert (day1["trading_day"], day2["trading_day"]) == (1, 2)
    assert day2["agreement"] is True
    assert day2["findings"] == [] and day2["unexpected"] == []
    # The day's own figures, as on the first day; the verdict covers both days.
    assert day2["attempts"] == sum(day2["by_type"].values()) == day1["attempts"]
    assert day2["audited_attempts"] == day1["attempts"] + day2["attempts"]
    assert day2["receipts"]["originals"] == day2["receipts"]["printed"] > 0
    assert day2["settlement"]["batch"] == "000002" and day2["settlement"]["settled"]
    # The printer numbered the second day's jobs on from the first day's.
    printed = printed_receipts(out)
    assert sum(printed.values()) == day1["receipts"]["printed"] + day2["receipts"]["printed"]
    assert max(printed.values()) == 1
    # New customers' prepaid cards: the first day's were issued already.
    second_day_cards = [card.pan for card in demo_prepaid_cards(1, SystemClock().now(), 2)]
    assert not set(second_day_cards) & set(PREPAID_PANS)
    for path in files_under(data, out):
        content = path.read_bytes()
        for pan in second_day_cards:
            assert pan.encode("ascii") not in content, f"full PAN in {path.name}"
