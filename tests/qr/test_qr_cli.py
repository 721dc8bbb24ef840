"""`pospay qr check` end to end: payloads, images drawn from the shared vectors, damaged images."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import segno
from PIL import Image, ImageDraw

from pospay.qr import check, parse_payload
from qr_vectors import Vector, load_vectors

VECTORS = load_vectors()
# The CLI judges expiry by the real clock, so the usable vector is one usable today (the
# PayNow one expired in 2023), with an amount to check a sale against.
USABLE = next(
    v
    for v in VECTORS
    if check(v.payload, now=datetime.now(UTC)).usable
    and "54" in {f.tag for f in parse_payload(v.payload)}
)
USABLE_AMOUNT = check(USABLE.payload).summary["amount"]  # e.g. "USD 10.00"
WECHAT_CODE = "134567890123456789"


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command, arguments from the test
        [sys.executable, "-m", "pospay", "qr", "check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def verdict_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def draw(payload: str, path: Path) -> Path:
    segno.make(payload, error="L", micro=False).save(str(path), scale=6, border=4)
    return path


def test_usable_payload_exits_0() -> None:
    result = run(USABLE.payload, "--json")
    assert result.returncode == 0, result.stderr
    document = verdict_of(result)
    assert document["kind"] == "usable"
    assert document["source"] == "payload"
    assert document["fields"]["crc"] == USABLE.payload[-4:]
    tlv = document["tlv"]
    assert "".join(f"{f['tag']}{len(f['value']):02d}{f['value']}" for f in tlv) == USABLE.payload
    templates = [f for f in tlv if "children" in f]
    assert templates
    assert all(
        "".join(f"{c['tag']}{len(c['value']):02d}{c['value']}" for c in f["children"]) == f["value"]
        for f in templates
    )


def test_refused_payload_exits_1_with_both_languages() -> None:
    bad = next(v for v in VECTORS if not v.crc_valid)
    result = run(bad.payload)
    assert result.returncode == 1
    assert "crc_mismatch" in result.stdout
    assert "校验码不符" in result.stdout
    assert f"found {bad.payload[-4:]}" in result.stdout


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_image_gets_the_payloads_verdict(vector: Vector, tmp_path: Path) -> None:
    result = run(draw(vector.payload, tmp_path / f"{vector.name}.png"), "--json")
    expected = check(vector.payload, now=datetime.now(UTC))
    document = verdict_of(result)
    assert document["source"] == "image"
    assert document["kind"] == str(expected.kind)
    assert document["details"].keys() == expected.details.keys()
    assert {k: v for k, v in document["details"].items() if k != "now"} == {
        k: v for k, v in expected.details.items() if k != "now"
    }
    assert document["fields"] == expected.summary
    assert result.returncode == (0 if expected.usable else 1)


def test_damaged_image_is_unreadable(tmp_path: Path) -> None:
    path = draw(USABLE.payload, tmp_path / "damaged.png")
    with Image.open(path) as image:
        damaged = image.convert("L")
    width, height = damaged.size
    ImageDraw.Draw(damaged).rectangle((0, height * 3 // 10, width, height * 7 // 10), fill=0)
    damaged.save(path)
    result = run(path, "--json")
    assert result.returncode == 1
    assert verdict_of(result)["kind"] == "unreadable"
    assert "无法识别" in verdict_of(result)["message"]["zh"]


def test_random_bytes_named_png_are_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(random.Random(6).randbytes(4096))
    result = run(path)
    assert result.returncode == 1
    assert result.stdout.startswith("unreadable")


def test_customer_code_is_never_printed_whole() -> None:
    result = run(WECHAT_CODE)
    assert result.returncode == 0
    assert WECHAT_CODE not in result.stdout + result.stderr
    assert "WeChat" in result.stdout


def test_amount_and_currency_checked_against_the_sale() -> None:
    currency, amount = USABLE_AMOUNT.split()
    assert run(USABLE.payload, "--amount", amount, "--currency", currency).returncode == 0
    result = run(USABLE.payload, "--amount", "987.65", "--currency", currency, "--json")
    assert result.returncode == 1
    assert verdict_of(result)["details"] == {
        "expected": f"{currency} 987.65",
        "found": USABLE_AMOUNT,
    }
    assert verdict_of(run(USABLE.payload, "--currency", "cny", "--json"))["kind"] == (
        "currency_mismatch"
    )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--amount", "12.50"], "needs --currency"),
        (["--amount", "12.505", "--currency", "CNY"], "more than 2 decimal places"),
        (["--amount", "twelve", "--currency", "CNY"], "not a decimal amount"),
        (["--amount", "-1", "--currency", "CNY"], "positive"),
        (["--currency", "XYZ"], "unknown ISO 4217 currency"),
    ],
)
def test_bad_usage_exits_2(args: list[str], complaint: str) -> None:
    result = run(USABLE.payload, *args)
    assert result.returncode == 2
    assert complaint in result.stderr


def test_missing_image_file_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path / "nowhere.png")
    assert result.returncode == 2
    assert "no such image file" in result.stderr
