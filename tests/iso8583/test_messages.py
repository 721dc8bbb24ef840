"""Which messages the link carries: response MTIs, transaction kinds, required fields."""

from __future__ import annotations

import pytest

from pospay.errors import MessageFormatError
from pospay.iso8583 import Message
from pospay.iso8583.messages import (
    ENTRY_MODES,
    PROCESSING_CODES,
    REQUEST_MTI,
    REQUIRED_FIELDS,
    check_required,
    kind_of,
    method_of,
    response_mti,
)
from pospay.transaction import Kind, Method


@pytest.mark.parametrize(
    ("request_mti", "expected"),
    [("0200", "0210"), ("0800", "0810"), ("0100", "0110"), ("0400", "0410"), ("0420", "0430")],
)
def test_response_mti_adds_one_to_the_function_digit(request_mti: str, expected: str) -> None:
    assert response_mti(request_mti) == expected


@pytest.mark.parametrize("mti", ["0210", "0810", "0230", "", "020", "02000", "02A0", "abcd"])
def test_response_mti_refuses_what_is_not_a_request(mti: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        response_mti(mti)
    assert caught.value.field == "t"


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ({"t": "0800"}, Kind.SIGN_IN),
        ({"t": "0800", "3": "310000"}, Kind.SIGN_IN),  # field 3 means nothing in an 0800
        ({"t": "0200", "3": "000000"}, Kind.SALE),
        ({"t": "0200", "3": "310000"}, Kind.BALANCE_INQUIRY),
        ({"t": "0400", "3": "000000"}, Kind.REVERSAL),  # a reversal carries the original's code
        ({"t": "0400", "3": "310000"}, Kind.REVERSAL),
        ({"t": "0400", "3": "200000"}, Kind.REVERSAL),  # a reversal of a void, say
        ({"t": "0200", "3": "200000"}, Kind.VOID),
        ({"t": "0220", "3": "200000"}, Kind.REFUND),
        ({"t": "0100", "3": "030000"}, Kind.PREAUTH),
        ({"t": "0220", "3": "000000"}, Kind.PREAUTH_COMPLETION),
        ({"t": "0100", "3": "200000"}, Kind.PREAUTH_CANCEL),
        ({"t": "0200", "3": "400000"}, Kind.TRANSFER),
    ],
)
def test_kind_of_a_carried_request(message: Message, kind: Kind) -> None:
    assert kind_of(message) is kind


@pytest.mark.parametrize(
    "message",
    [
        {"t": "0200"},  # no processing code
        {"t": "0220", "3": "310000"},  # an inquiry is never an advice
        {"t": "0200", "3": "000001"},
        {"t": "0100", "3": "000000"},  # a sale is not sent as an authorisation
        {"t": "0210", "3": "000000"},  # a response is not a request
        {"t": "0820"},
        {"t": "0400", "3": "300000"},  # a reversal of what the link does not carry
    ],
)
def test_kind_of_anything_else_is_none(message: Message) -> None:
    assert kind_of(message) is None


def test_request_tables_agree() -> None:
    for kind, code in PROCESSING_CODES.items():
        assert kind_of({"t": REQUEST_MTI[kind], "3": code}) is kind
    assert kind_of({"t": REQUEST_MTI[Kind.SIGN_IN]}) is Kind.SIGN_IN
    assert set(REQUIRED_FIELDS) == set(REQUEST_MTI)


@pytest.mark.parametrize("kind", list(REQUIRED_FIELDS))
def test_check_required_names_the_first_missing_field(kind: Kind) -> None:
    complete = dict.fromkeys(REQUIRED_FIELDS[kind], "0")
    check_required(kind, complete)
    for field in REQUIRED_FIELDS[kind]:
        incomplete = {key: value for key, value in complete.items() if key != field}
        with pytest.raises(MessageFormatError, match=f"field {field} is required") as caught:
            check_required(kind, incomplete)
        assert caught.value.field == field


def test_a_sale_needs_an_amount_and_an_inquiry_does_not() -> None:
    assert "4" in REQUIRED_FIELDS[Kind.SALE]
    assert "4" not in REQUIRED_FIELDS[Kind.BALANCE_INQUIRY]


@pytest.mark.parametrize(("method", "code"), list(ENTRY_MODES.items()))
def test_method_of_reads_the_pan_entry_mode(method: Method, code: str) -> None:
    assert method_of({"22": code}) is method
    # The third digit is the PIN entry capability and does not change the method.
    assert method_of({"22": code[:2] + "2"}) is method


@pytest.mark.parametrize("entry_mode", ["000", "901", "", "101"])
def test_method_of_an_unknown_entry_mode_is_a_format_error(entry_mode: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        method_of({"22": entry_mode})
    assert caught.value.field == "22"


def test_method_of_a_missing_entry_mode_is_a_format_error() -> None:
    with pytest.raises(MessageFormatError) as caught:
        method_of({})
    assert caught.value.field == "22"
