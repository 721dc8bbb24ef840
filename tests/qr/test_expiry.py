"""The expiry fields of the schemes pospay knows: read when the scheme is recognised, refused
when unreadable, ignored when another scheme owns the id; the earliest expiry decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pospay.qr import VerdictKind, check
from pospay.qr.emvco import tlv
from qr_vectors import scheme_payloads, with_field

PAYLOADS = scheme_payloads()
KHQR = PAYLOADS["khqr_kh_live"]  # created 2026-11-26T10:00Z, expires 10:10Z
PAYNOW = PAYLOADS["paynow_sg_expiry_date"]
NOW = datetime(2026, 11, 26, 10, 5, tzinfo=UTC)
CREATED = tlv("00", "1795687200000")


def paynow_expiring(text: str) -> str:
    account = tlv("00", "SG.PAYNOW") + tlv("01", "2") + tlv("02", "202318842W") + tlv("03", "0")
    return with_field(PAYNOW, "26", account + tlv("04", text))


def pospay_template(expiry: str) -> str:
    return tlv("00", "COM.POSPAY.QR") + tlv("01", expiry)


@pytest.mark.parametrize(
    ("payload", "tag", "scheme"),
    [
        (with_field(KHQR, "99", CREATED + tlv("01", "179568780000")), "99", "KHQR"),  # 12 digits
        (with_field(KHQR, "99", CREATED + tlv("01", "17956878000OO")), "99", "KHQR"),
        (with_field(KHQR, "99", "1795687200000"), "99", "KHQR"),  # not a template
        (paynow_expiring("20251340"), "26", "PayNow"),  # month 13
        (paynow_expiring("2025-06-30"), "26", "PayNow"),
        (with_field(KHQR, "80", pospay_template("20261126101")), "80", "pospay"),
        (with_field(KHQR, "80", pospay_template("2026112610") + "01"), "80", "pospay"),
    ],
    ids=[
        "khqr-12-digits",
        "khqr-letters",
        "khqr-99-plain",
        "paynow-month-13",
        "paynow-dashes",
        "pospay-short",
        "pospay-unreadable",
    ],
)
def test_an_unreadable_expiry_of_a_known_scheme_is_a_bad_value(
    payload: str, tag: str, scheme: str
) -> None:
    verdict = check(payload, now=NOW)
    assert verdict.kind is VerdictKind.BAD_VALUE, verdict.message_en
    assert verdict.details["tag"] == tag
    assert scheme in verdict.message_en
    assert f"字段 {tag}" in verdict.message_zh


def test_khqr_with_its_creation_time_only_sets_no_expiry() -> None:
    verdict = check(with_field(KHQR, "99", CREATED), now=NOW + timedelta(days=400))
    assert verdict.usable, verdict.message_en
    assert "expires_at" not in verdict.summary


def test_tag_99_is_khqrs_only_in_a_cambodian_code() -> None:
    elsewhere = with_field(KHQR, "58", "TH")
    assert check(elsewhere, now=NOW + timedelta(days=1)).usable
    assert check(KHQR, now=NOW + timedelta(days=1)).kind is VerdictKind.EXPIRED


def test_paynow_expiry_with_a_time_is_singapore_time() -> None:
    payload = paynow_expiring("20250630183000")  # 10:30 UTC
    assert check(payload, now=datetime(2025, 6, 30, 10, 29, 59, tzinfo=UTC)).usable
    verdict = check(payload, now=datetime(2025, 6, 30, 10, 30, tzinfo=UTC))
    assert verdict.kind is VerdictKind.EXPIRED
    assert verdict.details["expires_at"] == "2025-06-30T10:30:00+00:00"


@pytest.mark.parametrize(
    ("pospay_expiry", "scheme", "field", "expires_at"),
    [
        ("20261126100700", "pospay", "80.01", "2026-11-26T10:07:00+00:00"),
        ("20261126101500", "KHQR", "99.01", "2026-11-26T10:10:00+00:00"),
    ],
)
def test_the_earliest_expiry_decides(
    pospay_expiry: str, scheme: str, field: str, expires_at: str
) -> None:
    payload = with_field(KHQR, "80", pospay_template(pospay_expiry))
    assert check(payload, now=NOW).summary["expiry_field"] == f"{scheme} {field}"
    verdict = check(payload, now=datetime.fromisoformat(expires_at))
    assert verdict.kind is VerdictKind.EXPIRED
    assert verdict.details["scheme"] == scheme
    assert verdict.details["field"] == field
    assert f"{scheme} 有效期（字段 {field}）截至 {expires_at}" in verdict.message_zh
    assert f"expired at {expires_at} (its {scheme} expiry, field {field})" in verdict.message_en
