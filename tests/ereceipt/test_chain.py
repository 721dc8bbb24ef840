"""Verifying exported chains: every kind of tampering is found and named."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pospay.receipts.chain import (
    Fault,
    FaultKind,
    MalformedError,
    check_seal,
    export_chain,
    parse_chain,
    parse_record,
    record_json,
    verify_chain,
    verify_receipt,
)
from pospay.receipts.signing import document_hash, qr_payload, read_qr_payload, sign_document
from receipt_chains import KEY, OTHER_KEY, TERMINAL, edited, exported, signed_chain

ATTEMPTS = 5  # 10 documents
CHAIN = exported(ATTEMPTS)
SIZE = len(CHAIN["receipts"])
FIELDS = sorted(CHAIN["receipts"][0]["document"])


def faults_of(data: dict[str, Any], key: Any = None) -> list[Fault]:
    return verify_chain(parse_chain(data), None if key is None else key.public_key())


def kinds(faults: list[Fault]) -> set[FaultKind]:
    return {fault.kind for fault in faults}


def other_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "000000"
    return value + "1" if value else "1"


def test_an_intact_chain_has_no_fault() -> None:
    assert faults_of(CHAIN) == []
    assert faults_of(CHAIN, KEY) == []


def test_an_empty_chain_verifies_and_its_head_is_the_genesis() -> None:
    chain = export_chain(TERMINAL, [], KEY, "2026-01-01T10:00:00+00:00")
    assert chain["head"]["counter"] == 0
    assert faults_of(chain) == []


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, SIZE - 1), field=st.sampled_from(FIELDS))
def test_changing_any_field_is_named_altered_at_that_receipt(index: int, field: str) -> None:
    data = edited(CHAIN)
    document = data["receipts"][index]["document"]
    document[field] = other_value(document[field])
    if field == "format":
        with pytest.raises(MalformedError, match=f"position {index + 1}"):
            parse_chain(data)
        return
    faults = faults_of(data)
    assert (
        Fault(FaultKind.ALTERED, document["counter"], "content does not match its recorded hash")
        in faults
    )
    if field not in ("counter", "terminal"):
        assert [(f.kind, f.counter) for f in faults] == [(FaultKind.ALTERED, index + 1)]


@settings(max_examples=30, deadline=None)
@given(index=st.integers(0, SIZE - 1), byte=st.integers(0, 63))
def test_a_changed_signature_is_a_bad_signature(index: int, byte: int) -> None:
    data = edited(CHAIN)
    record = data["receipts"][index]
    signature = bytearray.fromhex(record["signature"])
    signature[byte] ^= 0x01
    record["signature"] = signature.hex()
    assert [(f.kind, f.counter) for f in faults_of(data)] == [(FaultKind.BAD_SIGNATURE, index + 1)]


@settings(max_examples=30, deadline=None)
@given(index=st.integers(0, SIZE - 1))
def test_a_change_with_its_hash_recomputed_breaks_the_signature_and_the_next_link(
    index: int,
) -> None:
    data = edited(CHAIN)
    record = data["receipts"][index]
    record["document"]["amount_minor"] += 100
    record["hash"] = document_hash(record["document"])
    faults = [(f.kind, f.counter) for f in faults_of(data)]
    assert faults == [(FaultKind.BAD_SIGNATURE, index + 1)]
    # The next receipt's link is not checked against a receipt that failed: the fault
    # is named once. A forged receipt with a valid signature needs the private key.


@settings(max_examples=30, deadline=None)
@given(index=st.integers(0, SIZE - 1))
def test_dropping_any_receipt_is_a_gap_naming_it(index: int) -> None:
    data = edited(CHAIN)
    del data["receipts"][index]
    faults = faults_of(data)
    assert [(f.kind, f.counter) for f in faults] == [(FaultKind.GAP, index + 1)]
    assert faults[0].detail == f"receipt {index + 1} missing"


def test_dropping_the_last_receipts_is_a_gap_because_the_head_is_signed() -> None:
    data = edited(CHAIN)
    del data["receipts"][-3:]
    faults = faults_of(data)
    assert [(f.kind, f.counter, f.detail) for f in faults] == [
        (FaultKind.GAP, SIZE - 2, f"receipt {SIZE - 2} to {SIZE} missing")
    ]


@settings(max_examples=40, deadline=None)
@given(pair=st.lists(st.integers(0, SIZE - 1), min_size=2, max_size=2, unique=True))
def test_reordering_two_receipts_is_a_reorder(pair: list[int]) -> None:
    first, second = sorted(pair)
    data = edited(CHAIN)
    receipts = data["receipts"]
    receipts[first], receipts[second] = receipts[second], receipts[first]
    faults = faults_of(data)
    assert kinds(faults) == {FaultKind.REORDER}
    # The receipt moved back (counter first + 1) now follows a higher counter.
    assert first + 1 in {f.counter for f in faults}


def test_verifying_with_another_key_is_a_wrong_key_for_every_receipt() -> None:
    faults = faults_of(CHAIN, OTHER_KEY)
    assert kinds(faults) == {FaultKind.WRONG_KEY}
    assert {f.counter for f in faults} == {None, *range(1, SIZE + 1)}


def test_a_chain_re_signed_with_another_key_fails_against_the_terminal_key() -> None:
    forged = exported(ATTEMPTS, OTHER_KEY)
    assert faults_of(forged) == []  # consistent in itself...
    assert kinds(faults_of(forged, KEY)) == {FaultKind.WRONG_KEY}  # ...but not the terminal's


def test_a_changed_head_is_a_bad_signature_of_the_chain() -> None:
    data = edited(CHAIN)
    data["head"]["counter"] = SIZE - 1
    assert [(f.kind, f.counter) for f in faults_of(data)] == [(FaultKind.BAD_SIGNATURE, None)]


def test_a_receipt_of_another_terminal_is_foreign() -> None:
    data = edited(CHAIN)
    data["terminal"] = "99999999"
    data["head"] = edited(CHAIN)["head"]
    faults = faults_of(data)
    assert FaultKind.FOREIGN in kinds(faults)
    assert {f.counter for f in faults if f.kind is FaultKind.FOREIGN} >= set(range(1, SIZE + 1))


def test_a_broken_previous_link_is_named() -> None:
    # A chain whose third document was signed after the wrong predecessor.
    chain = signed_chain(2)
    rogue = export_chain(TERMINAL, [chain[0], chain[2], chain[3]], KEY, "t")
    faults = verify_chain(parse_chain(rogue))
    assert (FaultKind.GAP, 2) in [(f.kind, f.counter) for f in faults]
    relinked = dict(chain[2].document) | {"counter": 2}
    resigned = sign_document(relinked, KEY)
    data = export_chain(TERMINAL, [chain[0], resigned], KEY, "t")
    faults = verify_chain(parse_chain(data))
    assert [(f.kind, f.counter) for f in faults] == [(FaultKind.BROKEN_LINK, 2)]


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (lambda r: r["document"].__setitem__("amount_minor", 1), FaultKind.ALTERED),
        (lambda r: r.__setitem__("signature", "00" * 64), FaultKind.BAD_SIGNATURE),
        (lambda r: r.__setitem__("hash", "0" * 64), FaultKind.ALTERED),
    ],
    ids=["field", "signature", "hash"],
)
def test_one_receipt_on_its_own(change: Any, kind: FaultKind) -> None:
    record = record_json(signed_chain(1)[1])
    assert verify_receipt(parse_record(record), KEY.public_key()) == []
    assert [f.kind for f in verify_receipt(parse_record(record), OTHER_KEY.public_key())] == [
        FaultKind.WRONG_KEY
    ]
    change(record)
    assert [
        (f.kind, f.counter) for f in verify_receipt(parse_record(record), KEY.public_key())
    ] == [(kind, 2)]


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"document": {}},
        {"document": {"format": "pospay-receipt/1"}, "hash": "", "signature": ""},
    ],
    ids=["not-object", "no-format", "no-counter"],
)
def test_malformed_records_are_refused(data: Any) -> None:
    with pytest.raises(MalformedError):
        parse_record(data)


def test_a_printed_code_is_checked_against_its_document() -> None:
    chain = signed_chain(2)
    key = KEY.public_key()
    seal = read_qr_payload(qr_payload(chain[2]))
    assert check_seal(seal, chain, key) == []
    assert [f.kind for f in check_seal(seal, chain[:2], key)] == [FaultKind.GAP]
    other = read_qr_payload(qr_payload(chain[1]))
    swapped = dataclasses.replace(other, counter=3)
    assert [f.kind for f in check_seal(swapped, chain, key)] == [FaultKind.ALTERED]
    resigned = dataclasses.replace(seal, signature=bytes(64))
    assert [f.kind for f in check_seal(resigned, chain, key)] == [FaultKind.BAD_SIGNATURE]
    assert [f.kind for f in check_seal(seal, chain, OTHER_KEY.public_key())] == [
        FaultKind.WRONG_KEY
    ]
