"""Every shared real-world vector gets the verdict the file implies.

The file says whether each payload's CRC holds. A payload whose CRC is wrong is refused as a
CRC mismatch naming both values; one whose CRC holds is never refused for its CRC, and is
usable unless it breaks another rule, listed here with the rule (`promptpay_parse` is a
truncated PromptPay sample from a parser's tests: it has no tags 52, 59 and 60).
"""

from __future__ import annotations

import pytest

from pospay.qr import VerdictKind, check, crc16_ccitt_false, parse_payload
from qr_vectors import Vector, load_vectors

VECTORS = load_vectors()
BEYOND_CRC: dict[str, tuple[VerdictKind, dict[str, str]]] = {
    "promptpay_parse": (VerdictKind.MISSING_TAG, {"tag": "52"}),
}


def test_the_file_has_both_kinds_of_vector() -> None:
    assert {v.crc_valid for v in VECTORS} == {True, False}
    assert set(BEYOND_CRC) <= {v.name for v in VECTORS}


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_vector_verdict(vector: Vector) -> None:
    verdict = check(vector.payload)
    if not vector.crc_valid:
        assert verdict.kind is VerdictKind.CRC_MISMATCH
        assert verdict.details["found"] == vector.payload[-4:]
        assert verdict.details["expected"] != vector.payload[-4:]
        assert verdict.details["expected"] in verdict.message_en
        assert vector.payload[-4:] in verdict.message_zh
        return
    kind, details = BEYOND_CRC.get(vector.name, (VerdictKind.USABLE, {}))
    assert verdict.kind is kind, verdict.message_en
    assert details.items() <= verdict.details.items()
    if kind is VerdictKind.USABLE:
        assert verdict.summary["crc"] == vector.payload[-4:]
        assert verdict.summary["merchant_name"] in vector.payload


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_crc_of_vector_agrees_with_the_file(vector: Vector) -> None:
    body, crc = vector.payload[:-4], vector.payload[-4:]
    assert (f"{crc16_ccitt_false(body.encode()):04X}" == crc) is vector.crc_valid


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.crc_valid], ids=lambda v: v.name)
def test_valid_vectors_parse_to_their_last_character(vector: Vector) -> None:
    fields = parse_payload(vector.payload)
    rebuilt = "".join(f"{f.tag}{len(f.value):02d}{f.value}" for f in fields)
    assert rebuilt == vector.payload
    assert fields[-1].tag == "63"
