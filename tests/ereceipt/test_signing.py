"""The canonical form, the signed document of a receipt, and the QR payload."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pospay.receipts import ReceiptCopy, render_escpos, render_text
from pospay.receipts.layout import PAPER_58MM
from pospay.receipts.signing import (
    GENESIS,
    canonical_bytes,
    key_id,
    qr_payload,
    read_qr_payload,
    sign_receipt,
)
from receipt_chains import KEY, TEST_PAN, receipt_for, signed_chain


def test_the_canonical_form_is_sorted_compact_utf8_json() -> None:
    document = {"b": "¥12.50 收银", "a": 1, "c": None, "d": True}
    assert canonical_bytes(document) == '{"a":1,"b":"¥12.50 收银","c":null,"d":true}'.encode()


def test_floats_have_no_canonical_form() -> None:
    with pytest.raises(ValueError, match="amount"):
        canonical_bytes({"amount": 12.5})


@pytest.mark.parametrize("copy", list(ReceiptCopy), ids=[c.value for c in ReceiptCopy])
def test_a_receipt_document_holds_what_the_paper_shows_and_no_pan(copy: ReceiptCopy) -> None:
    receipt = receipt_for(copy)
    signed = sign_receipt(receipt, 7, "ab" * 32, KEY)
    document = signed.document
    assert (document["counter"], document["previous"]) == (7, "ab" * 32)
    assert document["key"] == key_id(KEY.public_key())
    assert (document["amount_minor"], document["currency"]) == (1250, "CNY")
    assert document["card"] == receipt.card_display
    assert (document["voucher"], document["rrn"], document["auth_code"]) == (
        receipt.voucher,
        receipt.rrn,
        receipt.auth_code,
    )
    assert document["copy"] == copy.value
    assert TEST_PAN not in signed.canonical.decode()
    KEY.public_key().verify(signed.signature, signed.canonical)  # raises if it does not


def test_the_qr_payload_reads_back() -> None:
    signed = signed_chain(2)[3]
    payload = qr_payload(signed)
    assert payload.startswith("PPR1:31500422:4:")
    seal = read_qr_payload(payload)
    assert (seal.terminal, seal.counter, seal.hash, seal.signature) == (
        "31500422",
        4,
        signed.hash,
        signed.signature,
    )
    # Upper-case base32 and colons: QR's alphanumeric mode.
    assert set(payload) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ:")


@pytest.mark.parametrize(
    "payload", ["", "PPR2:1:1:AA:AA", "PPR1:31500422:x:AA:AA", "PPR1:31500422:1:AA:AA"]
)
def test_a_bad_qr_payload_is_refused(payload: str) -> None:
    with pytest.raises(ValueError, match="receipt code"):
        read_qr_payload(payload)


def test_the_paper_carries_the_code_natively_and_the_text_shows_its_payload() -> None:
    receipt = receipt_for(ReceiptCopy.CUSTOMER)
    payload = qr_payload(sign_receipt(receipt, 1, GENESIS, KEY))
    sealed = dataclasses.replace(receipt, seal=payload)
    job = render_escpos(sealed, PAPER_58MM)
    store = b"\x1d(k" + (len(payload) + 3).to_bytes(2, "little") + b"1P0" + payload.encode()
    assert store in job  # GS ( k, function 180: store the data
    assert b"\x1d(k\x03\x001Q0" in job  # GS ( k, function 181: print it
    text = render_text(sealed, PAPER_58MM)
    assert "[QR]" in text
    assert "".join(text.split("[QR]\n", 1)[1].split()) == payload
    unsealed = render_text(receipt, PAPER_58MM)
    assert "[QR]" not in unsealed and b"\x1d(k" not in render_escpos(receipt, PAPER_58MM)


def test_a_seal_must_be_printable_ascii() -> None:
    with pytest.raises(ValueError, match="seal"):
        dataclasses.replace(receipt_for(ReceiptCopy.CUSTOMER), seal="PPR1\x1b")


def test_documents_are_json_round_trip_stable() -> None:
    signed = signed_chain(1)[0]
    again = json.loads(signed.canonical.decode())
    assert canonical_bytes(again) == signed.canonical
