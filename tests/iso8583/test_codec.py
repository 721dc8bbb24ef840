"""Packing and unpacking messages: round trips and the content checks pyiso8583 leaves to us."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pospay.errors import MessageFormatError
from pospay.iso8583 import SPEC, Message, Received, decode, encode
from pospay.iso8583.codec import NUMERIC_FIELDS

SIGN_IN: Message = {
    "t": "0800",
    "7": "0314093000",
    "11": "000001",
    "41": "20000001",
    "42": "898310048160002",
    "60": "000001",
    "70": "001",
}

SALE: Message = {
    "t": "0200",
    "2": "6212345600000012",
    "3": "000000",
    "4": "000000001250",
    "7": "0314093005",
    "11": "000002",
    "12": "173005",
    "13": "0314",
    "14": "3012",
    "22": "051",
    "23": "001",
    "25": "00",
    "41": "20000001",
    "42": "898310048160002",
    "49": "156",
    "60": "000001",
}


def with_bytes_replaced(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1, f"{old!r} must occur once in the packed message"
    return data.replace(old, new)


@pytest.mark.parametrize("message", [SIGN_IN, SALE], ids=["sign-in", "sale"])
def test_round_trip(message: Message) -> None:
    assert decode(encode(message)) == message


def test_packed_layout_is_ascii_mti_binary_bitmap_ascii_fields() -> None:
    packed = encode(SALE)
    assert packed[:4] == b"0200"
    bitmap = int.from_bytes(packed[4:12], "big")
    present = {bit for bit in range(1, 65) if bitmap & (1 << (64 - bit))}
    assert present == {int(field) for field in SALE if field != "t"}
    # Field 2 is LLVAR: two ASCII length digits, then the digits of the PAN.
    assert packed[12:30] == b"16" + b"6212345600000012"


def test_secondary_bitmap_appears_only_when_a_field_above_64_is_present() -> None:
    sign_in = encode(SIGN_IN)
    assert sign_in[4] & 0x80, "field 70 needs the secondary bitmap"
    assert len(sign_in) == len(encode({k: v for k, v in SIGN_IN.items() if k != "70"})) + 8 + 3
    assert not encode(SALE)[4] & 0x80


def test_bitmap_fields_given_by_the_caller_are_ignored() -> None:
    assert encode({**SIGN_IN, "p": "FFFFFFFFFFFFFFFF", "1": "00"}) == encode(SIGN_IN)
    assert "p" not in decode(encode(SIGN_IN)) and "1" not in decode(encode(SIGN_IN))


def test_binary_fields_travel_as_raw_bytes_and_decode_to_upper_hex() -> None:
    message = {**SALE, "52": "0123456789abcdef", "55": "9F2608A1B2C3D4E5F60718"}
    packed = encode(message)
    assert bytes.fromhex("0123456789abcdef") in packed
    assert b"011" + bytes.fromhex("9F2608A1B2C3D4E5F60718") in packed  # LLL length in bytes
    decoded = decode(packed)
    assert decoded["52"] == "0123456789ABCDEF"
    assert decoded["55"] == "9F2608A1B2C3D4E5F60718"


def test_balance_field_54_is_lllvar_text() -> None:
    message = {"t": "0210", "39": "00", "54": "0002156C000004999999"}
    packed = encode(message)
    assert packed.endswith(b"020" + b"0002156C000004999999")
    assert decode(packed) == message


@pytest.mark.parametrize("field", [str(number) for number in sorted(map(int, NUMERIC_FIELDS))])
def test_encode_refuses_a_non_digit_in_a_numeric_field(field: str) -> None:
    spec = SPEC[field]
    value = "1" * (spec["max_len"] - 1) + "X" if spec["len_type"] == 0 else "12X"
    with pytest.raises(MessageFormatError, match=f"field {field} must be digits") as caught:
        encode({"t": "0200", field: value})
    assert caught.value.field == field


@pytest.mark.parametrize("field", ["4", "11", "49"])
def test_decode_refuses_a_non_digit_in_a_numeric_field(field: str) -> None:
    packed = encode(SALE)
    corrupted = with_bytes_replaced(packed, SALE[field].encode(), b"A" + SALE[field][1:].encode())
    with pytest.raises(MessageFormatError) as caught:
        decode(corrupted)
    assert caught.value.field == field
    assert caught.value.partial["t"] == "0200"
    assert "2" not in caught.value.partial, "card data is never echoed"


def test_decode_refuses_a_space_padded_amount() -> None:
    corrupted = with_bytes_replaced(encode(SALE), b"000000001250", b"       12.50")
    with pytest.raises(MessageFormatError) as caught:
        decode(corrupted)
    assert caught.value.field == "4"


def test_track_2_accepts_only_track_2_characters() -> None:
    good = {**SALE, "35": "6212345600000012D30121010000000000"}
    assert decode(encode(good)) == good
    with pytest.raises(MessageFormatError) as caught:
        encode({**SALE, "35": "6212345600000012^3012"})
    assert caught.value.field == "35"


@pytest.mark.parametrize("mti", ["", "020", "02000", "02A0", "abcd"])
def test_the_mti_must_be_four_digits(mti: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        encode({**SIGN_IN, "t": mti})
    assert caught.value.field == "t"


def test_encode_names_a_field_outside_the_layout() -> None:
    with pytest.raises(MessageFormatError, match="not in the layout") as caught:
        encode({**SALE, "5": "000000001250"})
    assert caught.value.field == "5"


def test_encode_names_a_value_too_long_for_its_field() -> None:
    with pytest.raises(MessageFormatError) as caught:
        encode({**SALE, "41": "200000011"})
    assert caught.value.field == "41"
    with pytest.raises(MessageFormatError) as caught:
        encode({**SALE, "2": "6" * 20})
    assert caught.value.field == "2"


def test_decode_names_a_bitmap_bit_outside_the_layout() -> None:
    packed = bytearray(encode(SALE))
    packed[4] |= 0x08  # field 5
    with pytest.raises(MessageFormatError, match="field 5 is not in the layout") as caught:
        decode(bytes(packed))
    assert caught.value.field == "5"


def test_decode_of_a_truncated_message_keeps_what_it_could_read() -> None:
    packed = encode(SALE)
    with pytest.raises(MessageFormatError) as caught:
        decode(packed[:-3])
    assert caught.value.field == "60"
    assert caught.value.pos is not None and caught.value.pos > 12
    assert caught.value.partial["t"] == "0200"
    assert caught.value.partial["11"] == "000002"


def test_decode_refuses_trailing_bytes() -> None:
    with pytest.raises(MessageFormatError, match=r"[Ee]xtra data"):
        decode(encode(SIGN_IN) + b"0")


def test_a_fault_in_an_echo_field_is_not_offered_for_echo() -> None:
    # The host answers a format error by echoing the partial fields; an echo of
    # the faulty STAN could not itself be packed.
    corrupted = with_bytes_replaced(encode(SALE), b"000002", b"00000X")
    with pytest.raises(MessageFormatError) as caught:
        decode(corrupted)
    assert caught.value.field == "11"
    assert "11" not in caught.value.partial
    encode(caught.value.partial)  # what is offered for echo can be packed


digits = st.text(alphabet="0123456789")


@given(
    pan=st.text(alphabet="0123456789", min_size=1, max_size=19),
    amount=st.integers(min_value=0, max_value=999_999_999_999),
    stan=st.integers(min_value=0, max_value=999_999),
    terminal=st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=8, max_size=8
    ),
    balance=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120),
    icc=st.binary(max_size=255),
)
def test_any_valid_message_round_trips(
    pan: str, amount: int, stan: int, terminal: str, balance: str, icc: bytes
) -> None:
    message: Message = {
        **SALE,
        "2": pan,
        "4": f"{amount:012d}",
        "11": f"{stan:06d}",
        "41": terminal,
        "54": balance,
        "55": icc.hex().upper(),
    }
    assert decode(encode(message)) == message


# Strict decoding (issue 21): only what `encode` itself would write is accepted.

FIELD_60 = b"006000001"  # LLLVAR: "006", then the batch


@pytest.mark.parametrize("prefix", [b" 06", b"+06", b"0_6", b"\x0b06", b"06 ", b"-06"])
def test_a_length_prefix_must_be_ascii_digits(prefix: bytes) -> None:
    # Python's int() reads every one of these as 6; the link does not.
    packed = encode(SALE)
    corrupted = with_bytes_replaced(packed, FIELD_60, prefix + FIELD_60[3:])
    with pytest.raises(MessageFormatError, match="length prefix") as caught:
        decode(corrupted)
    assert caught.value.field == "60"
    assert caught.value.pos == packed.index(FIELD_60)
    assert caught.value.partial["11"] == SALE["11"], "the fields before it are echoed"


def test_an_all_zero_secondary_bitmap_is_refused() -> None:
    packed = bytearray(encode(SALE))
    packed[4] |= 0x80  # bit 1: a secondary bitmap follows...
    padded = bytes(packed[:12]) + bytes(8) + bytes(packed[12:])  # ...naming no field
    with pytest.raises(MessageFormatError, match="secondary bitmap") as caught:
        decode(padded)
    assert (caught.value.field, caught.value.pos) == ("1", 12)
    assert caught.value.partial == {"t": "0200"}, "answered 30: the MTI can be read"


def test_a_secondary_bitmap_naming_field_65_is_a_field_outside_the_layout() -> None:
    packed = encode(SIGN_IN)  # field 70: a secondary bitmap
    corrupted = bytearray(packed)
    corrupted[12] |= 0x80  # field 65 (pyiso8583 would read a tertiary bitmap here)
    with pytest.raises(MessageFormatError, match="field 65 is not in the layout") as caught:
        decode(bytes(corrupted))
    assert caught.value.field == "65"
    assert caught.value.partial == {}, "nothing to answer: the connection is closed"


@pytest.mark.parametrize("byte", [b"\x07", b"\x00", b"\x1f", b"\x7f", b"\x80", b"\xff"])
def test_a_text_field_holds_printable_ascii_only(byte: bytes) -> None:
    packed = encode(SALE)
    corrupted = with_bytes_replaced(packed, SALE["42"].encode(), b"8983100481600" + byte + b"2")
    with pytest.raises(MessageFormatError, match="printable ASCII") as caught:
        decode(corrupted)
    assert caught.value.field == "42"
    assert caught.value.pos == packed.index(SALE["42"].encode())
    # The fault does not stop the reading: the good fields after it are still echoed.
    assert "42" not in caught.value.partial and caught.value.partial["49"] == "156"
    encode(caught.value.partial)


def test_encode_refuses_a_control_character_in_a_text_field() -> None:
    with pytest.raises(MessageFormatError, match="printable ASCII") as caught:
        encode({**SALE, "42": "89831004816000\x07"})
    assert caught.value.field == "42"


def test_what_decodes_packs_again_to_the_bytes_received() -> None:
    for message in (SALE, SIGN_IN, {**SALE, "54": " !~", "55": "9F2608A1B2C3D4E5F607"}):
        packed = encode(message)
        received = Received.from_wire(packed)
        assert (received.message, received.wire) == (decode(packed), packed)
        assert encode(received.message) == packed


def test_received_knows_where_each_field_lay() -> None:
    packed = encode(SIGN_IN)
    received = Received.from_wire(packed)
    start, end = received.spans["42"]
    assert packed[start:end] == SIGN_IN["42"].encode()
    start, end = received.spans["60"]
    assert packed[start:end] == b"006" + SIGN_IN["60"].encode()
    assert received.spans["1"] == (12, 20)
