"""Key exchange, MAC and PIN block conventions, against values computed independently."""

from __future__ import annotations

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from pospay.errors import KeyCheckFailed, MessageFormatError
from pospay.iso8583 import Received, encode
from pospay.security.keys import (
    WorkingKeys,
    decrypt_under,
    generate_working_keys,
    key_check_value,
    read_working_keys_field,
    working_keys_field,
)
from pospay.security.mac import mac_of, mac_valid, needs_mac, received_mac_valid, with_mac
from pospay.security.pin import encrypt_pin_block, translate_pin_block
from pospay.security.test_keys import TEST_TMK, TEST_ZONE_PIN_KEY


def _des(key: bytes, block: bytes, *, decrypt: bool = False) -> bytes:
    """Single DES of one block, as TDES with three equal keys (K1 = K2 = K3)."""
    cipher = Cipher(TripleDES(key * 3), modes.ECB())  # noqa: S305  # one block, as DES defines it
    worker = cipher.decryptor() if decrypt else cipher.encryptor()
    return worker.update(block) + worker.finalize()


def _tdes(key: bytes, data: bytes, *, decrypt: bool = False) -> bytes:
    """Double-length TDES (K3 = K1), given as the three keys cryptography asks for."""
    cipher = Cipher(TripleDES(key + key[:8]), modes.ECB())  # noqa: S305  # key blocks, as ANSI X9.17
    worker = cipher.decryptor() if decrypt else cipher.encryptor()
    return worker.update(data) + worker.finalize()


def _retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO 9797-1 algorithm 3, padding method 2, written out from the standard."""
    data += b"\x80"
    data += bytes(-len(data) % 8)
    state = bytes(8)
    for start in range(0, len(data), 8):
        block = bytes(a ^ b for a, b in zip(state, data[start : start + 8], strict=True))
        state = _des(key[:8], block)
    return _des(key[:8], _des(key[8:], state, decrypt=True))


MAC_KEY = bytes.fromhex("89B07B35A1B3F47E89B07B35A1B3F47E")[:8] + bytes.fromhex("C4F1F7A7BA6E3B62")
REQUEST = {
    "t": "0200",
    "2": "6212345600000012",
    "3": "000000",
    "4": "000000001250",
    "7": "0314093005",
    "11": "000002",
    "41": "20000001",
    "42": "898310048160002",
    "49": "156",
}


def test_mac_known_answer_against_an_independent_retail_mac() -> None:
    expected = _retail_mac(MAC_KEY, encode(REQUEST)).hex().upper()
    assert mac_of(REQUEST, MAC_KEY) == expected
    signed = with_mac(REQUEST, MAC_KEY)
    assert signed["64"] == expected and mac_valid(signed, MAC_KEY)


def test_a_changed_field_or_mac_fails_verification() -> None:
    signed = with_mac(REQUEST, MAC_KEY)
    assert not mac_valid(signed | {"4": "000000001251"}, MAC_KEY)
    assert not mac_valid(signed | {"64": "0" * 16}, MAC_KEY)
    assert not mac_valid(REQUEST, MAC_KEY), "a missing MAC never verifies"
    other = bytes(b ^ 0x02 for b in MAC_KEY)
    assert not mac_valid(signed, other)


@pytest.mark.parametrize(
    "extra",
    [{}, {"103": "6225880000000027"}, {"70": "001"}],
    ids=["primary-only", "field-103-after-64", "field-70-after-64"],
)
def test_the_host_checks_the_mac_over_the_bytes_as_received(extra: dict[str, str]) -> None:
    message = REQUEST | extra
    packed = encode(with_mac(message, MAC_KEY))
    received = Received.from_wire(packed)
    # The MAC input is cut out of the wire: field 64's bytes removed, bit 64 cleared,
    # whatever comes after field 64 kept where it was.
    assert received.without("64") == encode(message)
    assert _retail_mac(MAC_KEY, received.without("64")).hex().upper() == received.message["64"]
    assert received_mac_valid(received, MAC_KEY)
    assert not received_mac_valid(received, bytes(b ^ 0x02 for b in MAC_KEY))
    unsigned = Received.from_wire(encode(message))
    assert unsigned.without("64") == unsigned.wire
    assert not received_mac_valid(unsigned, MAC_KEY), "a missing MAC never verifies"


@pytest.mark.parametrize(
    ("mti", "macced"),
    [("0200", True), ("0210", True), ("0400", True), ("0410", True), ("0800", False)],
)
def test_every_message_but_network_management_carries_a_mac(mti: str, macced: bool) -> None:
    assert needs_mac(mti) is macced


def test_field_62_carries_both_keys_under_the_tmk_with_their_check_values() -> None:
    keys = generate_working_keys()
    raw = bytes.fromhex(working_keys_field(keys, TEST_TMK))
    assert len(raw) == 38
    assert _tdes(TEST_TMK, raw[0:16], decrypt=True) == keys.pin_key
    assert raw[16:19] == _tdes(keys.pin_key, bytes(8))[:3]
    assert _tdes(TEST_TMK, raw[19:35], decrypt=True) == keys.mac_key
    assert raw[35:38] == _tdes(keys.mac_key, bytes(8))[:3]
    pin_key, mac_key = read_working_keys_field(raw.hex(), TEST_TMK)
    assert decrypt_under(TEST_TMK, pin_key) == keys.pin_key
    assert decrypt_under(TEST_TMK, mac_key) == keys.mac_key
    assert key_check_value(keys.mac_key) == raw[35:38]


def test_keys_differ_at_every_generation_and_have_odd_parity() -> None:
    generated = [generate_working_keys() for _ in range(5)]
    all_keys = [k for keys in generated for k in (keys.pin_key, keys.mac_key)]
    assert len(set(all_keys)) == len(all_keys)
    assert all(bin(byte).count("1") % 2 == 1 for key in all_keys for byte in key)
    assert repr(generated[0]) == "WorkingKeys()", "keys never appear in a repr"


def test_a_key_that_fails_its_check_value_is_refused() -> None:
    raw = bytearray.fromhex(working_keys_field(generate_working_keys(), TEST_TMK))
    raw[37] ^= 0x01
    with pytest.raises(KeyCheckFailed, match="MAC key"):
        read_working_keys_field(raw.hex(), TEST_TMK)
    wrong_tmk = bytes(b ^ 0x10 for b in TEST_TMK)
    with pytest.raises(KeyCheckFailed, match="PIN key"):
        read_working_keys_field(raw.hex(), wrong_tmk)
    with pytest.raises(MessageFormatError):
        read_working_keys_field("", TEST_TMK)


def test_pin_block_is_iso_9564_format_0_under_the_pin_key() -> None:
    keys = WorkingKeys(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), MAC_KEY)
    block = bytes.fromhex(encrypt_pin_block("1234", "4000200000000016", keys.pin_key))
    clear = _tdes(keys.pin_key, block, decrypt=True)
    pin_field = bytes.fromhex("041234FFFFFFFFFF")
    pan_field = bytes.fromhex("0000020000000001")  # 12 PAN digits before the check digit
    assert clear == bytes(a ^ b for a, b in zip(pin_field, pan_field, strict=True))
    translated = translate_pin_block(block, keys.pin_key, TEST_ZONE_PIN_KEY)
    assert _tdes(TEST_ZONE_PIN_KEY, translated, decrypt=True) == clear
