"""Visa CVN 10 as pospay computes it, against an implementation from the DES block
cipher alone (EMV Book 2 option A, ISO/IEC 9797-1 MAC algorithm 3, ARPC method 1), and
fixed known answers for the documented test IMK-AC."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from pospay.emv import (
    SimulatedCard,
    TerminalData,
    arqc,
    arqc_valid,
    decode_icc_data,
    issuer_authentication_data,
)
from pospay.emv.cryptogram import CVN10_IAD
from pospay.security.test_keys import TEST_IMK_AC

PAN, PSN = "4000200000000016", "01"
TERMINAL = TerminalData(
    amount_minor=1_250,
    currency_numeric="156",
    country_numeric="156",
    date=datetime(2026, 11, 26, 10, 0),
    unpredictable_number=bytes.fromhex("1A2B3C4D"),
)


def des3(key: bytes, block: bytes, *, decrypt: bool = False) -> bytes:
    cipher = Cipher(TripleDES(key + key[:8]), modes.ECB())  # noqa: S305 - single blocks
    worker = cipher.decryptor() if decrypt else cipher.encryptor()
    return worker.update(block) + worker.finalize()


def icc_master_key(pan: str, psn: str) -> bytes:
    y = bytes.fromhex((pan + psn)[-16:])
    return des3(TEST_IMK_AC, y) + des3(TEST_IMK_AC, bytes(b ^ 0xFF for b in y))


def mac_algorithm_3(key: bytes, data: bytes) -> bytes:
    data += bytes(-len(data) % 8)  # padding method 1
    left, right, state = key[:8] * 2, key[8:] * 2, bytes(8)
    for start in range(0, len(data), 8):
        block = bytes(a ^ b for a, b in zip(state, data[start : start + 8], strict=True))
        state = des3(left, block)
    return des3(left, des3(right, state, decrypt=True))


def expected_arqc(tags: dict[str, bytes]) -> bytes:
    order = ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36")
    data = b"".join(tags[tag] for tag in order) + tags["9F10"][3:7]
    return mac_algorithm_3(icc_master_key(PAN, PSN), data)


def test_the_arqc_is_cvn_10_computed_from_des_alone() -> None:
    emv = SimulatedCard(PAN, PSN).generate_ac(TERMINAL)
    assert emv.tags["9F10"] == CVN10_IAD
    assert emv.arqc == expected_arqc(emv.tags)
    assert emv.arqc == arqc(TEST_IMK_AC, PAN, PSN, emv.tags)
    assert emv.arqc.hex().upper() == KNOWN_ARQC


def test_the_arpc_is_method_1_computed_from_des_alone() -> None:
    emv = SimulatedCard(PAN, PSN).generate_ac(TERMINAL)
    tag_91 = issuer_authentication_data(TEST_IMK_AC, PAN, PSN, emv.arqc, "00")
    block = bytes(a ^ b for a, b in zip(emv.arqc, b"00" + bytes(6), strict=True))
    assert tag_91 == des3(icc_master_key(PAN, PSN), block) + b"00"
    assert tag_91.hex().upper() == KNOWN_TAG_91


# Known answers of the first GENERATE AC of test card 4000200000000016 (PSN 01) for
# `TERMINAL`, under the documented TEST IMK-AC.
KNOWN_ARQC = "33E05D52C35DCC76"
KNOWN_TAG_91 = "510AF8463E9F5D793030"


def test_the_documented_known_answer_and_key_are_these() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "iso8583.md").read_text("utf-8")
    assert f"IMK-AC = {TEST_IMK_AC.hex().upper()}" in doc
    assert f"ARQC `{KNOWN_ARQC}`" in doc and f"tag 91\n`{KNOWN_TAG_91}`" in doc


@pytest.mark.parametrize("tag", ["9F02", "9F37", "9F36", "9A", "9F26", "9F10"])
def test_changing_any_covered_tag_fails_verification(tag: str) -> None:
    emv = SimulatedCard(PAN, PSN).generate_ac(TERMINAL)
    tags = decode_icc_data(emv.field_55())
    assert arqc_valid(TEST_IMK_AC, PAN, PSN, tags)
    tags[tag] = tags[tag][:-1] + bytes([tags[tag][-1] ^ 0x01])  # for 9F10: in the CVR
    assert not arqc_valid(TEST_IMK_AC, PAN, PSN, tags)


def test_another_psn_or_key_is_another_card() -> None:
    tags = SimulatedCard(PAN, PSN).generate_ac(TERMINAL).tags
    assert not arqc_valid(TEST_IMK_AC, PAN, "02", tags)
    assert not arqc_valid(bytes(16), PAN, PSN, tags)
    del tags["9F26"]
    assert not arqc_valid(TEST_IMK_AC, PAN, PSN, tags)


def test_the_card_accepts_only_its_issuer_s_arpc() -> None:
    card = SimulatedCard(PAN, PSN)
    emv = card.generate_ac(TERMINAL)
    tag_91 = issuer_authentication_data(TEST_IMK_AC, PAN, PSN, emv.arqc, "00")
    assert card.external_authenticate(emv.arqc, tag_91)
    assert not card.external_authenticate(emv.arqc, bytes([tag_91[0] ^ 1]) + tag_91[1:])
    assert not card.external_authenticate(emv.arqc, tag_91[:8] + b"05")  # another ARC
    assert not card.external_authenticate(emv.arqc, tag_91[:9])


def test_each_generate_ac_takes_the_next_atc() -> None:
    card = SimulatedCard(PAN, PSN)
    first, second = card.generate_ac(TERMINAL), card.generate_ac(TERMINAL)
    assert (first.atc, second.atc) == (1, 2) and first.arqc != second.arqc
