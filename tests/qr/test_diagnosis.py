"""The cashier's verdict: each fault named, with the facts behind it, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pospay.errors import InvalidAmount
from pospay.money import Money
from pospay.qr import MerchantAccount, NoteKind, VerdictKind, build_payload, check, unreadable
from pospay.qr.emvco import crc_of

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
SALE = Money(1250, "CNY")
PAYLOAD = build_payload(
    account=MerchantAccount("26", "COM.POSPAY.WALLET", "M000123"),
    merchant_category="5812",
    amount=SALE,
    country="CN",
    merchant_name="Lanzhou Noodles",
    merchant_city="Shanghai",
    reference="T0001-000042",
    expires_at=NOW + timedelta(minutes=5),
)
BODY = PAYLOAD[: PAYLOAD.index("6304")]  # fields before the CRC, as built


def sealed(body: str) -> str:
    """`body` with a correct upper-case CRC, so that only the fault under test remains."""
    return body + "6304" + crc_of(body + "6304")


def without(tag: str, body: str = BODY) -> str:
    pos = 0
    while pos < len(body):
        length = int(body[pos + 2 : pos + 4])
        if body[pos : pos + 2] == tag:
            return body[:pos] + body[pos + 4 + length :]
        pos += 4 + length
    raise AssertionError(f"no field {tag}")


def test_usable_with_its_fields() -> None:
    verdict = check(PAYLOAD, amount=SALE, now=NOW)
    assert verdict.kind is VerdictKind.USABLE
    assert verdict.usable
    assert verdict.summary["amount"] == "CNY 12.50"
    assert verdict.summary["reference"] == "T0001-000042"
    assert verdict.summary["merchant_accounts"] == "26:COM.POSPAY.WALLET"
    assert "Lanzhou Noodles" in verdict.message_zh
    assert "Lanzhou Noodles" in verdict.message_en


def test_surrounding_whitespace_from_a_scanner_is_ignored() -> None:
    assert check(f" {PAYLOAD}\r\n", now=NOW).usable


@pytest.mark.parametrize("text", ["hello", "https://example.com/pay", "01020304AB", ""])
def test_not_emvco(text: str) -> None:
    verdict = check(text)
    assert verdict.kind is VerdictKind.NOT_EMVCO
    assert "000201" in verdict.message_en


def test_crc_mismatch_names_expected_and_found() -> None:
    wrong = "0000" if PAYLOAD[-4:] != "0000" else "FFFF"
    verdict = check(PAYLOAD[:-4] + wrong)
    assert verdict.kind is VerdictKind.CRC_MISMATCH
    assert verdict.details == {"expected": PAYLOAD[-4:], "found": wrong}
    assert PAYLOAD[-4:] in verdict.message_en
    assert wrong in verdict.message_zh


def with_letter_in_crc() -> str:
    body = BODY
    while not any(c.isalpha() for c in crc_of(body + "6304")):
        body = body.replace("T0001-000042", "T0001-000043")  # a CRC with a letter in it
    return sealed(body)


def test_lowercase_crc_that_holds_is_usable_with_a_note() -> None:
    payload = with_letter_in_crc()
    lower = payload[-4:].lower()
    verdict = check(payload[:-4] + lower, amount=SALE, now=NOW)
    assert verdict.usable, verdict.message_en
    assert [note.kind for note in verdict.notes] == [NoteKind.LOWERCASE_CRC]
    assert lower in verdict.notes[0].message_en
    assert payload[-4:] in verdict.notes[0].message_zh
    assert verdict.summary["crc"] == lower
    assert check(payload, amount=SALE, now=NOW).notes == ()


def test_lowercase_crc_note_stays_on_a_later_fault() -> None:
    payload = with_letter_in_crc()
    verdict = check(payload[:-4] + payload[-4:].lower(), amount=Money(1350, "CNY"), now=NOW)
    assert verdict.kind is VerdictKind.AMOUNT_MISMATCH
    assert [note.kind for note in verdict.notes] == [NoteKind.LOWERCASE_CRC]


def test_lowercase_crc_that_does_not_hold_is_a_mismatch() -> None:
    payload = with_letter_in_crc()
    wrong = crc_of(payload[:-4].replace("12.50", "12.60")).lower()
    verdict = check(payload[:-4] + wrong)
    assert verdict.kind is VerdictKind.CRC_MISMATCH
    assert verdict.details == {"expected": payload[-4:], "found": wrong}
    assert verdict.notes == ()


def test_changed_content_is_a_crc_mismatch() -> None:
    verdict = check(PAYLOAD.replace("12.50", "12.60"))
    assert verdict.kind is VerdictKind.CRC_MISMATCH


@pytest.mark.parametrize(
    "payload",
    [
        PAYLOAD[:-10],  # cut short: no CRC at the end, a length runs past it
        sealed(BODY + "6205"),  # a field whose length runs past the CRC
        sealed(BODY + "99"),  # two characters left over
        BODY + "6304" + crc_of(BODY + "6304") + "00",  # something after the CRC
        BODY + "6304" + crc_of(BODY + "6304") + "6101A",  # a field after the CRC
        BODY + "6305" + crc_of(BODY + "6304") + "0",  # a CRC of five characters
    ],
    ids=["truncated", "length-past-end", "left-over", "after-crc", "field-after-crc", "crc-5"],
)
def test_bad_length(payload: str) -> None:
    verdict = check(payload)
    assert verdict.kind is VerdictKind.BAD_LENGTH, verdict.message_en
    assert "length" in verdict.message_en


@pytest.mark.parametrize(
    ("tag", "name_en", "name_zh"),
    [
        ("52", "merchant category code", "商户类别码"),
        ("53", "transaction currency", "币种"),
        ("58", "country code", "国家代码"),
        ("59", "merchant name", "商户名称"),
        ("60", "merchant city", "商户城市"),
        ("26", "merchant account information", "商户账户信息"),
    ],
)
def test_missing_mandatory_tag_is_named(tag: str, name_en: str, name_zh: str) -> None:
    verdict = check(sealed(without(tag)))
    assert verdict.kind is VerdictKind.MISSING_TAG
    assert name_en in verdict.message_en
    assert name_zh in verdict.message_zh


def test_missing_crc_is_named() -> None:
    verdict = check(BODY)
    assert verdict.kind is VerdictKind.MISSING_TAG
    assert verdict.details["tag"] == "63"


@pytest.mark.parametrize(
    ("old", "new", "tag"),
    [
        ("010212", "010213", "01"),
        ("5303156", "5303000", "53"),
        ("540512.50", "540512.5X", "54"),
        ("540512.50", "54051.505", "54"),  # three decimals for CNY
        ("5802CN", "58021N", "58"),
    ],
)
def test_malformed_value_is_named(old: str, new: str, tag: str) -> None:
    verdict = check(sealed(BODY.replace(old, new)))
    assert verdict.kind is VerdictKind.BAD_VALUE, verdict.message_en
    assert verdict.details["tag"] == tag


def test_currency_different_from_the_sale() -> None:
    verdict = check(PAYLOAD, currency="USD", now=NOW)
    assert verdict.kind is VerdictKind.CURRENCY_MISMATCH
    assert verdict.details == {"expected": "USD", "found": "CNY"}
    assert check(PAYLOAD, amount=Money(1250, "HKD")).kind is VerdictKind.CURRENCY_MISMATCH


def test_amount_different_from_the_sale() -> None:
    verdict = check(PAYLOAD, amount=Money(1350, "CNY"), now=NOW)
    assert verdict.kind is VerdictKind.AMOUNT_MISMATCH
    assert verdict.details == {"expected": "CNY 13.50", "found": "CNY 12.50"}
    assert "13.50" in verdict.message_zh


def test_a_dynamic_code_without_amount_does_not_match_a_sale() -> None:
    verdict = check(sealed(without("54")), amount=SALE)
    assert verdict.kind is VerdictKind.AMOUNT_MISMATCH
    assert verdict.details["found"] == "none"
    assert check(sealed(without("54"))).usable


def test_a_static_code_without_amount_fits_any_sale_in_its_currency() -> None:
    static = sealed(without("54").replace("010212", "010211"))
    verdict = check(static, amount=Money(98765, "CNY"), now=NOW)
    assert verdict.usable, verdict.message_en
    assert "CNY 987.65" in verdict.message_en
    assert "付款人输入" in verdict.message_zh
    assert check(static, amount=Money(98765, "USD")).kind is VerdictKind.CURRENCY_MISMATCH
    assert check(sealed(BODY.replace("010212", "010211")), amount=Money(1, "CNY")).kind is (
        VerdictKind.AMOUNT_MISMATCH  # a static code with an amount asks for that amount
    )


def test_expired_at_and_after_its_expiry_only() -> None:
    assert check(PAYLOAD, now=NOW + timedelta(minutes=4, seconds=59)).usable
    verdict = check(PAYLOAD, now=NOW + timedelta(minutes=5))
    assert verdict.kind is VerdictKind.EXPIRED
    assert verdict.details["expires_at"] == "2026-11-26T10:05:00+00:00"
    assert check(PAYLOAD).usable  # no clock given: expiry not judged


def test_customer_codes() -> None:
    good = check("134567890123456789")
    assert good.usable
    assert good.customer_code is not None
    assert "134567890123456789" not in good.message_en
    bad = check("1345678901234567")
    assert bad.kind is VerdictKind.BAD_CUSTOMER_CODE
    assert "16 digits" in bad.message_en


def test_amount_and_currency_must_agree() -> None:
    with pytest.raises(InvalidAmount):
        check(PAYLOAD, amount=SALE, currency="USD")
    with pytest.raises(InvalidAmount):
        check(PAYLOAD, currency="XYZ")


def test_unreadable() -> None:
    verdict = unreadable("no QR code could be decoded")
    assert verdict.kind is VerdictKind.UNREADABLE
    assert "无法识别" in verdict.message_zh
    assert "nreadable" in verdict.message_en
