"""Section 2.1 of docs/iso8583.md: every key, PIN block and MAC of the worked example is
what the code computes, and the conventions stated there are the code's."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pospay.iso8583 import Received, decode, encode
from pospay.security import _psec
from pospay.security.keys import WorkingKeys, working_keys_field
from pospay.security.mac import mac_of, mac_valid, received_mac_valid
from pospay.security.pin import PIN_SECURITY_CONTROL, encrypt_pin_block
from pospay.security.test_keys import TEST_TMK

DOC = Path(__file__).resolve().parents[2].joinpath("docs", "iso8583.md").read_text("utf-8")
SECTION = DOC[DOC.index("### 2.1 Link security") : DOC.index("## 3. Fields")]


def values() -> dict[str, str]:
    found: dict[str, str] = {}
    for block in re.findall(r"```text\n(.*?)```", SECTION, re.DOTALL):
        for line in block.splitlines():
            name, _, value = line.partition(" = ")
            found[name.strip()] = value.strip()
    return found


def test_worked_example_is_what_the_code_computes() -> None:
    shown = values()
    assert bytes.fromhex(shown["TMK"]) == TEST_TMK
    keys = WorkingKeys(bytes.fromhex(shown["TPK"]), bytes.fromhex(shown["TAK"]))
    assert shown["field 62"] == working_keys_field(keys, TEST_TMK)
    assert (
        shown["clear PIN block"] == _psec.pin_block_iso_0("1234", "4000200000000016").hex().upper()
    )
    assert shown["field 52"] == encrypt_pin_block("1234", "4000200000000016", keys.pin_key)

    (example,) = re.findall(r"```json\n(.*?)```\s*```hex\n(.*?)```", SECTION, re.DOTALL)
    message = json.loads(example[0])
    packed = bytes.fromhex(example[1])
    assert decode(packed) == message and encode(message) == packed
    assert message["52"] == shown["field 52"] and message["53"] == PIN_SECURITY_CONTROL
    assert message["64"] == shown["field 64"] == mac_of(message, keys.mac_key)
    assert mac_valid(message, keys.mac_key)
    received = Received.from_wire(packed)
    assert received_mac_valid(received, keys.mac_key), "checked over the bytes received"
    without = {key: value for key, value in message.items() if key != "64"}
    assert received.without("64") == encode(without)
    assert f"({len(received.without('64'))} bytes)" in shown["MAC input"]


def test_stated_conventions_are_the_code_s() -> None:
    assert f"field 53 = `{PIN_SECURITY_CONTROL}`" in SECTION
    assert "MAC algorithm 3" in SECTION and "padding method 2" in SECTION
    assert "Field 62 is 38 bytes" in SECTION
