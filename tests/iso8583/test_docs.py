"""docs/iso8583.md against the code: a terminal writer trusts the document, so it must not
drift from `SPEC`, the response-code table, the message catalogue or the test cards."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest

from pospay.cards import luhn_valid
from pospay.errors import MessageFormatError
from pospay.iso8583 import MAX_FRAME, RESPONSE_CODES, SPEC, Message, decode, encode
from pospay.iso8583.codec import NUMERIC_FIELDS
from pospay.iso8583.fields import balance_field, read_balance_field
from pospay.iso8583.messages import (
    AMOUNTLESS,
    ENTRY_MODES,
    PREPAID_OPERATIONS,
    PROCESSING_CODES,
    REQUEST_MTI,
    REQUIRED_FIELDS,
    kind_of,
    read_original_data_field,
)
from pospay.issuer.test_cards import MAGIC_AMOUNTS, TEST_CARDS, UNKNOWN_CARD_PAN
from pospay.money import Money
from pospay.prepaid import TEST_PREPAID_BIN, TEST_PROGRAMME
from pospay.transaction import Kind

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "iso8583.md"
DOC = DOC_PATH.read_text(encoding="utf-8")

SALE_CODE = PROCESSING_CODES[Kind.SALE]
INQUIRY_CODE = PROCESSING_CODES[Kind.BALANCE_INQUIRY]
SECTIONS = {
    Kind.SIGN_IN: "### 4.1 Sign-in (0800/0810)",
    Kind.SALE: f"### 4.2 Sale (0200/0210, processing code {SALE_CODE})",
    Kind.BALANCE_INQUIRY: f"### 4.3 Balance inquiry (0200/0210, processing code {INQUIRY_CODE})",
    Kind.REVERSAL: "### 4.4 Reversal (0400/0410)",
    Kind.VOID: "### 4.5 Void (0200/0210, processing code 200000)",
    Kind.REFUND: "### 4.6 Refund (0220/0230, processing code 200000)",
    Kind.PREAUTH: "### 4.7 Pre-authorisation (0100/0110, processing code 030000)",
    Kind.PREAUTH_COMPLETION: (
        "### 4.8 Pre-authorisation completion (0220/0230, processing code 000000)"
    ),
    Kind.PREAUTH_CANCEL: "### 4.9 Pre-authorisation cancel (0100/0110, processing code 200000)",
    Kind.TRANSFER: "### 4.10 Transfer (0200/0210, processing code 400000)",
    Kind.SETTLEMENT: "### 4.11 Settlement (0500/0510)",
    Kind.BATCH_UPLOAD: "### 4.12 Batch upload (0320/0330)",
    Kind.STATUS_QUERY: "### 4.13 Status query (0600/0610)",
    Kind.PREPAID_ISSUE: "### 4.15 Prepaid issue (0100/0110, processing code 900000)",
    Kind.PREPAID_ACTIVATE: "### 4.16 Prepaid activation (0100/0110, processing code 910000)",
    Kind.PREPAID_FREEZE: "### 4.17 Prepaid freeze (0100/0110, processing code 940000)",
    Kind.PREPAID_UNFREEZE: "### 4.18 Prepaid unfreeze (0100/0110, processing code 950000)",
    Kind.PREPAID_TOP_UP: "### 4.19 Prepaid top-up in cash (0200/0210, processing code 210000)",
    Kind.PREPAID_CARD_TOP_UP: (
        "### 4.20 Prepaid top-up by card (0200/0210, processing code 213000)"
    ),
}
PREPAID_SECTION = "### 4.14 Prepaid cards: the programme the host issues"


def hexdump(packed: bytes) -> str:
    """The layout of the doc's hex blocks: upper-case byte pairs, 16 to a line."""
    pairs = [f"{byte:02X}" for byte in packed]
    return "\n".join(" ".join(pairs[start : start + 16]) for start in range(0, len(pairs), 16))


def section(heading: str) -> str:
    """The text from `heading` to the next heading of the same or a higher level."""
    start = DOC.index(heading + "\n")
    level = heading.split(" ")[0]
    following = re.compile(rf"^#{{1,{len(level)}}} ", re.MULTILINE)
    end = following.search(DOC, start + len(heading))
    return DOC[start : end.start() if end else len(DOC)]


def table(text: str, header_start: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header row starts with `header_start`,
    each cell stripped of surrounding spaces and backticks."""
    lines = text.splitlines()
    matches = [index for index, line in enumerate(lines) if line.startswith(header_start)]
    assert len(matches) == 1, f"expected one table headed {header_start!r}, found {len(matches)}"
    rows = []
    for line in lines[matches[0] + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip().strip("|").split("|")])
    return rows


def examples(text: str) -> list[tuple[Message, str]]:
    """Each ```json block with the ```hex block that follows it."""
    found = re.findall(r"```json\n(.*?)```\s*```hex\n(.*?)```", text, re.DOTALL)
    return [(json.loads(decoded), packed.strip()) for decoded, packed in found]


ALL_EXAMPLES = examples(DOC)


# The field table.

FORMAT = re.compile(
    r"^(?:(?P<prefix>LL|LLL)VAR )?(?P<kind>n|ans|z|b)(?P<var>\.\.)?(?P<length>\d+)$"
)


def expected_kind(field: str) -> str:
    if SPEC[field]["data_enc"] == "b":
        return "b"
    if field == "t" or field in NUMERIC_FIELDS:
        return "n"
    return "z" if field == "35" else "ans"


def test_field_table_lists_every_field_of_spec_and_nothing_else() -> None:
    rows = table(DOC, "| Field | Name | Format |")
    assert [row[0] for row in rows] == list(SPEC)


@pytest.mark.parametrize("row", table(DOC, "| Field | Name | Format |"), ids=lambda row: row[0])
def test_field_table_row_matches_spec(row: list[str]) -> None:
    field, name, notation, use = row
    spec = SPEC[field]
    assert name == spec["desc"]
    parsed = FORMAT.match(notation)
    assert parsed, f"field {field}: format {notation!r} is not in the documented notation"
    assert int(parsed["length"]) == spec["max_len"]
    assert len(parsed["prefix"] or "") == spec["len_type"]
    assert bool(parsed["var"]) == (spec["len_type"] > 0)
    assert parsed["kind"] == expected_kind(field)
    assert use, f"field {field}: say how pospay uses it"


def test_framing_limit_is_the_code_s() -> None:
    assert f"**{MAX_FRAME}** (`MAX_FRAME`)" in DOC


# The response codes.


def test_response_code_table_is_the_code_s_table() -> None:
    rows = table(DOC, "| Code | Meaning |")
    assert [row[0] for row in rows] == list(RESPONSE_CODES)
    for code, meaning, operator_zh, operator_en, when in rows:
        entry = RESPONSE_CODES[code]
        assert (meaning, operator_zh, operator_en) == (
            entry.meaning,
            entry.operator_zh,
            entry.operator_en,
        )
        assert when, f"response code {code}: say when the host sends it"


@pytest.mark.parametrize("kind", list(SECTIONS))
def test_each_message_lists_only_known_response_codes(kind: Kind) -> None:
    lines = [
        line for line in section(SECTIONS[kind]).splitlines() if line.startswith("Response codes: ")
    ]
    assert len(lines) == 1
    codes = re.findall(r"`([0-9A-Z]{2})`", lines[0])
    assert codes and "00" in codes and "30" in codes
    assert set(codes) <= set(RESPONSE_CODES)


# The messages.


@pytest.mark.parametrize("kind", list(SECTIONS))
def test_mandatory_request_fields_are_the_required_fields(kind: Kind) -> None:
    rows = table(section(SECTIONS[kind]), "| Field | Name | 0")
    mandatory = {row[0] for row in rows if row[2].startswith("M")}
    assert mandatory == {"t", *REQUIRED_FIELDS[kind]}
    assert all(row[0] in SPEC for row in rows)


@pytest.mark.parametrize("kind", list(SECTIONS))
def test_message_examples_fit_their_message(kind: Kind) -> None:
    text = section(SECTIONS[kind])
    rows = table(text, "| Field | Name | 0")
    in_response = {row[0] for row in rows if row[3] != "–"}
    found = examples(text)
    requests = [message for message, _ in found if int(message["t"][2]) % 2 == 0]
    responses = [message for message, _ in found if int(message["t"][2]) % 2 == 1]
    assert requests and responses
    for request in requests:
        assert kind_of(request) is kind
        assert set(REQUIRED_FIELDS[kind]) <= set(request)
    for response in responses:
        assert set(response) <= in_response, "a response example holds a field its table omits"
        assert response["39"] in RESPONSE_CODES


def test_every_message_kind_has_examples() -> None:
    assert len(ALL_EXAMPLES) >= 10
    assert set(SECTIONS) == set(REQUIRED_FIELDS), "every message the link carries has a section"


def test_reversal_example_names_the_sale_example_in_field_90() -> None:
    sale = next(m for m, _ in examples(section(SECTIONS[Kind.SALE])) if m["t"] == "0200")
    reversal = next(m for m, _ in examples(section(SECTIONS[Kind.REVERSAL])) if m["t"] == "0400")
    assert read_original_data_field(reversal["90"]) == (sale["t"], sale["11"], sale["7"])
    assert (reversal["3"], reversal["4"], reversal["49"]) == (sale["3"], sale["4"], sale["49"])


def test_status_query_example_asks_about_the_sale_example() -> None:
    sale = next(m for m, _ in examples(section(SECTIONS[Kind.SALE])) if m["t"] == "0200")
    found = examples(section(SECTIONS[Kind.STATUS_QUERY]))
    query = next(m for m, _ in found if m["t"] == "0600")
    assert read_original_data_field(query["90"]) == (sale["t"], sale["11"], sale["7"])
    assert (query["3"], query["4"], query["49"]) == (sale["3"], sale["4"], sale["49"])
    stored = next(m for m, _ in examples(section(SECTIONS[Kind.SALE])) if m["t"] == "0210")
    done = next(m for m, _ in found if m["t"] == "0610" and m["39"] == "00")
    assert done["44"] == stored["39"]
    assert {f: done[f] for f in ("3", "4", "37", "38", "49", "54")} == {
        f: stored[f] for f in ("3", "4", "37", "38", "49", "54")
    }


def test_prepaid_operations_table_is_the_message_catalogue() -> None:
    rows = table(section(PREPAID_SECTION), "| Kind | MTI |")
    assert {row[0]: (row[1], row[2]) for row in rows} == {
        kind.value: (REQUEST_MTI[kind], PROCESSING_CODES[kind]) for kind in PREPAID_OPERATIONS
    }
    for row in rows:
        assert SECTIONS[Kind(row[0])].startswith(f"### {row[4]} ")


def test_prepaid_messages_without_amount_are_the_amountless_kinds() -> None:
    for kind in PREPAID_OPERATIONS:
        rows = table(section(SECTIONS[kind]), "| Field | Name | 0")
        field_4 = next(row for row in rows if row[0] == "4")
        assert (kind in AMOUNTLESS) == (field_4[2] == "O" and field_4[3] == "–")


def test_the_test_programme_is_the_code_s() -> None:
    text = section("### The test prepaid programme")
    assert f"BIN `{TEST_PREPAID_BIN}`" in text
    assert f"card numbers of {TEST_PROGRAMME.pan_length} digits" in text
    example = re.search(r"for example `(\d+)` expiring `(\d{4})`", text)
    assert example is not None and TEST_PROGRAMME.owns(example[1])
    assert luhn_valid(example[1])
    assert "5,000.00" in text and TEST_PROGRAMME.max_balance.minor == 500_000
    assert "2,000.00" in text and TEST_PROGRAMME.daily_spend.minor == 200_000
    assert f"{TEST_PROGRAMME.validity_months} months ahead" in text


@pytest.mark.parametrize(
    ("decoded", "packed"),
    ALL_EXAMPLES,
    ids=[f"{m['t']}-{m.get('11', '')}" for m, _ in ALL_EXAMPLES],
)
def test_hex_example_decodes_to_the_fields_shown_beside_it(decoded: Message, packed: str) -> None:
    assert decode(bytes.fromhex(packed)) == decoded
    # The hex is exactly what the encoder produces (paste this if it drifts).
    assert packed == hexdump(encode(decoded))


# Section 2: the encoding rules the host enforces, on the document's own examples.

ENCODING = section("## 2. Encoding")
SALE_EXAMPLE = bytes.fromhex(examples(section(SECTIONS[Kind.SALE]))[0][1])
SIGN_IN_EXAMPLE = examples(section(SECTIONS[Kind.SIGN_IN]))[0][0]


def notation_row(notation: str) -> str:
    [row] = [line for line in ENCODING.splitlines() if line.startswith(f"| `{notation}")]
    return row


def test_the_length_prefixes_section_2_names_are_format_errors() -> None:
    row = notation_row("LLVAR")
    named = row[row.index("nothing else: ") : row.index(" are format errors")]
    prefixes = [text.encode().decode("unicode_escape") for text in re.findall(r"`([^`]+)`", named)]
    assert len(prefixes) >= 4
    genuine = b"006" + decode(SALE_EXAMPLE)["60"].encode()
    for prefix in prefixes:
        assert int(prefix) == 6, "a lenient parser reads it as 6, as the document says"
        spoiled = SALE_EXAMPLE.replace(genuine, prefix.encode("latin-1") + genuine[3:])
        with pytest.raises(MessageFormatError) as caught:
            decode(spoiled)
        assert caught.value.field == "60"


def test_a_secondary_bitmap_naming_no_field_is_a_format_error() -> None:
    assert "a secondary bitmap that names no field (bit 1 set, then 8 zero bytes) is a format" in (
        " ".join(ENCODING.split())
    )
    spoiled = bytearray(SALE_EXAMPLE[:12]) + bytes(8) + SALE_EXAMPLE[12:]
    spoiled[4] |= 0x80
    with pytest.raises(MessageFormatError) as caught:
        decode(bytes(spoiled))
    assert caught.value.field == "1"


def test_text_fields_hold_the_bytes_section_2_says() -> None:
    stated = re.search(r"bytes (0x[0-9A-F]{2}) \(space\) to (0x[0-9A-F]{2})", notation_row("ans"))
    assert stated is not None
    low, high = int(stated[1], 16), int(stated[2], 16)
    packed = encode(SIGN_IN_EXAMPLE)
    merchant = SIGN_IN_EXAMPLE["42"].encode()
    assert packed.count(merchant) == 1
    accepted = []
    for byte in range(256):
        with contextlib.suppress(MessageFormatError):
            decode(packed.replace(merchant, bytes([byte]) + merchant[1:]))
            accepted.append(byte)
    assert accepted == list(range(low, high + 1))
    with pytest.raises(MessageFormatError) as caught:
        decode(packed.replace(merchant, b"\x07" + merchant[1:]))
    assert caught.value.field == "42"


def test_balance_examples_are_readable_balances() -> None:
    balances = [message["54"] for message, _ in ALL_EXAMPLES if "54" in message]
    assert balances
    for value in balances:
        read_balance_field(value)
    assert balance_field(Money(4_998_750, "CNY")) == "0002156C000004998750"
    assert "So `0002156C000004998750` is an available balance of 49,987.50 CNY." in DOC


def test_entry_mode_table_is_the_code_s() -> None:
    rows = table(DOC, "| Field 22 |")
    assert {row[0]: row[2] for row in rows} == {
        code: method.value for method, code in ENTRY_MODES.items()
    }


def test_test_card_table_is_the_issuer_s() -> None:
    rows = table(DOC, "| PAN | expiry (field 14) |")
    assert [(row[0], row[1], row[3]) for row in rows] == [
        (card.pan, card.expiry, card.behaviour) for card in TEST_CARDS
    ]
    for row, card in zip(rows, TEST_CARDS, strict=True):
        assert (
            row[2]
            == f"{card.opening_balance.minor // 100:,}.{card.opening_balance.minor % 100:02d}"
        )
    assert all(card.opening_balance.currency == "CNY" for card in TEST_CARDS)
    assert f"`{UNKNOWN_CARD_PAN}` is Luhn-valid but not on the issuer's file" in DOC


def test_magic_amount_table_is_the_issuer_s() -> None:
    rows = table(DOC, "| field 4 | response code |")
    assert {int(row[0]): row[1] for row in rows} == MAGIC_AMOUNTS


def test_the_ten_line_terminal_is_valid_python() -> None:
    blocks = re.findall(
        r"```python\n(.*?)```", section("## 10. A terminal in ten lines"), re.DOTALL
    )
    assert len(blocks) == 1
    compile(blocks[0], "docs/iso8583.md", "exec")
