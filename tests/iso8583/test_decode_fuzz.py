"""Whatever bytes arrive in a frame, `decode` either returns a message or raises
`MessageFormatError`: never KeyError, IndexError, UnicodeDecodeError or the like,
which the host would not know how to answer. What it returns packs again to exactly
the bytes it was given."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pospay.errors import MessageFormatError
from pospay.iso8583 import Message, decode, encode

SALE: Message = {
    "t": "0200",
    "2": "6212345600000012",
    "3": "000000",
    "4": "000000001250",
    "7": "0314093005",
    "11": "000002",
    "14": "3012",
    "22": "051",
    "35": "6212345600000012D3012",
    "41": "20000001",
    "42": "898310048160002",
    "49": "156",
    "52": "0123456789ABCDEF",
    "54": "0002156C000004998750",
    "55": "9F2608A1B2C3D4E5F607",
    "60": "000001",
    "70": "001",
    "128": "FEDCBA9876543210",
}
PACKED = encode(SALE)


def decode_or_format_error(data: bytes) -> Message | MessageFormatError:
    try:
        outcome: Message | MessageFormatError = decode(data)
    except MessageFormatError as error:
        outcome = error
    if isinstance(outcome, MessageFormatError):
        assert outcome.field is not None, "a format error names the field at fault"
        # What an error may offer for echo must itself be a packable message.
        if "t" in outcome.partial:
            encode(outcome.partial)
    else:
        # Decoding is canonical: what decodes packs again to exactly the bytes received.
        assert encode(outcome) == data
    return outcome


@settings(max_examples=400)
@given(st.binary(max_size=300))
@example(b"")
@example(b"\xff" * 12)
@example(b"0200" + b"\x80" + bytes(7))  # secondary bitmap announced, missing
@example(b"0800" + b"\x80" + bytes(7) + b"\x80" + bytes(7))  # field 65: not in the layout
@example(b"0800" + b"\x80" + bytes(15))  # an empty secondary bitmap
def test_arbitrary_bytes(data: bytes) -> None:
    decode_or_format_error(data)


@settings(max_examples=400)
@given(
    mti=st.sampled_from([b"0200", b"0800", b"0210", b"02\xc3\xa9"]),
    bitmap=st.binary(min_size=8, max_size=16),
    body=st.binary(max_size=200),
)
def test_plausible_headers_with_arbitrary_fields(mti: bytes, bitmap: bytes, body: bytes) -> None:
    decode_or_format_error(mti + bitmap + body)


@settings(max_examples=400)
@given(
    position=st.integers(min_value=0, max_value=len(PACKED) - 1),
    replacement=st.binary(min_size=1, max_size=4),
    cut=st.integers(min_value=0, max_value=len(PACKED)),
)
def test_corrupted_valid_message(position: int, replacement: bytes, cut: int) -> None:
    corrupted = PACKED[:position] + replacement + PACKED[position + len(replacement) :]
    decode_or_format_error(corrupted)
    decode_or_format_error(corrupted[:cut])
