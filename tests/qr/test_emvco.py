"""The EMVCo codec: CRC, building, parsing, and what a single changed character does."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pospay.errors import BadInput
from pospay.money import Money
from pospay.qr import (
    MerchantAccount,
    NoteKind,
    PayloadStructureError,
    VerdictKind,
    build_payload,
    check,
    crc16_ccitt_false,
    parse_payload,
)

ACCOUNT = MerchantAccount("26", "COM.POSPAY.WALLET", "M000123")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
SALE = Money(1250, "CNY")


def sale(**changes: object) -> str:
    arguments: dict[str, object] = {
        "account": ACCOUNT,
        "merchant_category": "5812",
        "amount": SALE,
        "country": "CN",
        "merchant_name": "Lanzhou Noodles",
        "merchant_city": "Shanghai",
        "reference": "T0001-000042",
        "expires_at": NOW + timedelta(minutes=5),
    }
    arguments.update(changes)
    return build_payload(**arguments)  # type: ignore[arg-type]  # keyword bag from the test


def test_crc_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"") == 0xFFFF


def test_built_payload_fields() -> None:
    payload = sale()
    fields = {f.tag: f for f in parse_payload(payload)}
    assert payload.startswith("000201010212")
    assert fields["53"].value == "156"
    assert fields["54"].value == "12.50"
    assert fields["26"].child("00") == "COM.POSPAY.WALLET"
    assert fields["62"].child("05") == "T0001-000042"
    assert fields["80"].child("01") == "20261126100500"
    assert payload[-4:] == payload[-4:].upper()
    assert f"{crc16_ccitt_false(payload[:-4].encode()):04X}" == payload[-4:]


def test_amount_in_the_currency_exponent() -> None:
    assert {f.tag: f.value for f in parse_payload(sale(amount=Money(1000, "JPY")))}["54"] == "1000"
    assert {f.tag: f.value for f in parse_payload(sale(amount=Money(12345, "KWD")))}[
        "54"
    ] == "12.345"


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"amount": Money(0, "CNY")}, "positive"),
        ({"merchant_category": "58A2"}, "four digits"),
        ({"country": "CHN"}, "two letters"),
        ({"reference": ""}, "order reference"),
        ({"merchant_name": "N" * 26}, "merchant name"),
        ({"expires_at": datetime(2026, 1, 1)}, "aware"),  # naive on purpose
        ({"reference": "R" * 100}, "at most 99"),
        ({"account": MerchantAccount("52", "X", "Y")}, "26–51"),
    ],
)
def test_build_refuses_what_it_cannot_encode(changes: dict[str, object], complaint: str) -> None:
    with pytest.raises(BadInput, match=complaint):
        sale(**changes)


@pytest.mark.parametrize(
    ("text", "position", "phrase"),
    [
        ("000201010212530315", 12, "field 53 says 3 characters but only 2 remain"),
        ("00020101021253", 12, "2 character(s) left over"),
        ("000201010A12", 6, "length '0A' of field 01"),
        ("000201XX0212", 6, "field id 'XX'"),
        ("000201000201", 6, "field 00 appears twice"),
        ("0002012604000A", 10, "length '0A' of field 00"),  # inside template 26
    ],
)
def test_structure_errors_say_where(text: str, position: int, phrase: str) -> None:
    with pytest.raises(PayloadStructureError) as caught:
        parse_payload(text)
    assert caught.value.pos == position
    assert phrase in str(caught.value)


@pytest.mark.parametrize("tag", ["80", "91", "99"])
def test_an_unreserved_id_may_hold_a_plain_value(tag: str) -> None:
    fields = parse_payload(f"000201010212{tag}0201")
    assert (fields[-1].tag, fields[-1].value, fields[-1].children) == (tag, "01", ())
    nested = parse_payload(f"000201{tag}0800040000")
    assert [(c.tag, c.value) for c in nested[-1].children] == [("00", "0000")]


@pytest.mark.parametrize("tag", ["26", "51", "62", "64"])
def test_a_reserved_template_must_hold_fields(tag: str) -> None:
    with pytest.raises(PayloadStructureError, match="left over"):
        parse_payload(f"000201010212{tag}0201")


CURRENCIES = st.sampled_from(["CNY", "JPY", "KWD", "USD", "SGD", "HKD"])
TEXT = st.text(alphabet=string.ascii_letters + string.digits + " -.&", min_size=1)


@settings(max_examples=200, deadline=None)
@given(
    minor=st.integers(min_value=1, max_value=10**9),
    currency=CURRENCIES,
    name=TEXT.filter(lambda t: len(t) <= 25),
    city=TEXT.filter(lambda t: len(t) <= 15),
    reference=TEXT.filter(lambda t: len(t) <= 25),
    lifetime=st.integers(min_value=1, max_value=86_400),
)
def test_build_then_check_round_trips(
    minor: int, currency: str, name: str, city: str, reference: str, lifetime: int
) -> None:
    amount = Money(minor, currency)
    expires = NOW + timedelta(seconds=lifetime)
    payload = sale(
        amount=amount,
        merchant_name=name,
        merchant_city=city,
        reference=reference,
        expires_at=expires,
    )
    verdict = check(payload, amount=amount, now=NOW)
    assert verdict.kind is VerdictKind.USABLE, verdict.message_en
    assert verdict.summary["amount"] == str(amount)
    assert verdict.summary["currency"] == currency
    assert verdict.summary["merchant_name"] == name
    assert verdict.summary["city"] == city
    assert verdict.summary["reference"] == reference
    assert verdict.summary["initiation"] == "dynamic"
    assert verdict.summary["expires_at"] == expires.isoformat()
    assert check(payload, amount=amount, now=expires).kind is VerdictKind.EXPIRED


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_character_change_is_caught(data: st.DataObject) -> None:
    payload = sale(
        amount=Money(data.draw(st.integers(1, 10**7)), data.draw(CURRENCIES)),
        reference=data.draw(TEXT.filter(lambda t: len(t) <= 25)),
    )
    position = data.draw(st.integers(0, len(payload) - 1))
    replacement = data.draw(
        st.sampled_from(string.printable.strip()).filter(lambda c: c != payload[position])
    )
    changed = payload[:position] + replacement + payload[position + 1 :]
    verdict = check(changed, now=NOW)
    if changed.upper() == payload:  # a CRC letter in lower case: hex still, as wallets read it
        assert verdict.usable, verdict.message_en
        assert [note.kind for note in verdict.notes] == [NoteKind.LOWERCASE_CRC]
        return
    assert not verdict.usable, (position, replacement)
    assert verdict.kind in {
        VerdictKind.NOT_EMVCO,
        VerdictKind.CRC_MISMATCH,
        VerdictKind.BAD_LENGTH,
        VerdictKind.MISSING_TAG,
    }
