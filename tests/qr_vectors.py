"""The shared real-world EMVCo merchant-presented vectors (a copy of ../shared/data), our
own payloads laid out as real schemes lay out theirs, and a way to change one field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pospay.qr import parse_payload
from pospay.qr.emvco import crc_of, tlv

VECTORS_FILE = Path(__file__).parent / "qr" / "data" / "emvco-qr-vectors.json"


@dataclass(frozen=True)
class Vector:
    name: str
    payload: str
    crc_valid: bool


def load_vectors() -> list[Vector]:
    document = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    return [Vector(v["name"], v["payload"], v["crc_valid"]) for v in document["vectors"]]


SCHEME_VECTORS_FILE = Path(__file__).parent / "qr" / "data" / "scheme-vectors.json"


def scheme_payloads() -> dict[str, str]:
    """Our payloads laid out as real schemes lay out theirs (issue 21), by name."""
    document = json.loads(SCHEME_VECTORS_FILE.read_text(encoding="utf-8"))
    return {v["name"]: v["payload"] for v in document["vectors"]}


def with_field(payload: str, tag: str, value: str) -> str:
    """`payload` with top-level field `tag` set to `value` (added before the CRC if absent),
    sealed with a fresh upper-case CRC."""
    fields = {f.tag: f.value for f in parse_payload(payload) if f.tag != "63"} | {tag: value}
    body = "".join(tlv(t, v) for t, v in fields.items())
    return body + "6304" + crc_of(body + "6304")
