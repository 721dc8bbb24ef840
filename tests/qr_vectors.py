"""The shared real-world EMVCo merchant-presented vectors (a copy of ../shared/data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

VECTORS_FILE = Path(__file__).parent / "qr" / "data" / "emvco-qr-vectors.json"


@dataclass(frozen=True)
class Vector:
    name: str
    payload: str
    crc_valid: bool


def load_vectors() -> list[Vector]:
    document = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    return [Vector(v["name"], v["payload"], v["crc_valid"]) for v in document["vectors"]]
