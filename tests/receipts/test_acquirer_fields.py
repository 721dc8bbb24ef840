"""The fields acquirers print beyond the basics: entry mode, issuer and acquirer, the chip's
answer, and how the cardholder was verified (PIN, signature or neither)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pospay.receipts import PAPER_58MM, PAPER_80MM, Paper, ReceiptCopy, render_text
from pospay.receipts.signing import GENESIS, sign_receipt
from pospay.transaction import Method

from .golden_cases import CHIP
from .samples import PAPER, SAMPLE_SIGNING_KEY, receipt_for, sale_with


@pytest.mark.parametrize(
    ("method", "shown"),
    [
        (Method.CARD_CHIP, "插卡 CHIP"),
        (Method.CARD_CONTACTLESS, "挥卡 CONTACTLESS"),
        (Method.CARD_MAGSTRIPE, "刷卡 SWIPE"),
        (Method.CARD_MANUAL, "手输卡号 MANUAL"),
    ],
)
@PAPER
def test_entry_mode_is_printed_in_both_languages(paper: Paper, method: Method, shown: str) -> None:
    text = render_text(receipt_for(ReceiptCopy.CUSTOMER, sale_with(method=method)), paper)
    assert "输入方式 ENTRY MODE" in text
    assert shown in text


@PAPER
def test_issuer_and_acquirer_are_printed_when_known(paper: Paper) -> None:
    sale = sale_with(issuer="某某银行", acquirer="某某收单")
    text = render_text(receipt_for(ReceiptCopy.MERCHANT, sale), paper)
    assert "发卡行 ISSUER" in text and "某某银行" in text
    assert "收单行 ACQUIRER" in text and "某某收单" in text
    unknown = render_text(receipt_for(ReceiptCopy.MERCHANT, sale_with()), paper)
    assert "ISSUER" not in unknown and "ACQUIRER" not in unknown


@PAPER
def test_chip_data_is_printed_for_a_chip_card_only(paper: Paper) -> None:
    text = render_text(receipt_for(ReceiptCopy.CUSTOMER, sale_with(chip=CHIP)), paper)
    for label, value in [
        ("AID", CHIP.aid),
        ("APP LABEL", CHIP.label),
        ("TVR", CHIP.tvr),
        ("TSI", CHIP.tsi),
        ("ARQC", CHIP.cryptogram),
    ]:
        assert label in text and value in text, label
    swiped = sale_with(method=Method.CARD_MAGSTRIPE)
    plain = render_text(receipt_for(ReceiptCopy.CUSTOMER, swiped), paper)
    assert not any(label in plain for label in ("AID", "TVR", "TSI", "ARQC"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"aid": "A0000003"}, "aid"),  # too short
        ({"aid": "a000000333010101"}, "aid"),  # lower case
        ({"tvr": "00000080"}, "tvr"),
        ({"tsi": "E80"}, "tsi"),
        ({"cryptogram": "3F9A61C2D07B58EZ"}, "cryptogram"),
        ({"label": "Union\npay"}, "application label"),
    ],
)
def test_chip_data_refuses_malformed_values(changes: dict[str, str], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(CHIP, **changes)


@pytest.mark.parametrize("paper", [PAPER_58MM, PAPER_80MM], ids=["58mm", "80mm"])
@pytest.mark.parametrize("copy", list(ReceiptCopy), ids=[c.value for c in ReceiptCopy])
def test_pin_verified_replaces_signature_and_waiver(paper: Paper, copy: ReceiptCopy) -> None:
    text = render_text(receipt_for(copy, sale_with(pin_verified=True)), paper)
    assert "密码已验证 PIN VERIFIED" in text
    assert "CARDHOLDER SIGNATURE" not in text
    assert "NO SIGNATURE REQUIRED" not in text
    waived = render_text(receipt_for(copy, sale_with(signature_required=False)), paper)
    assert "免签 NO SIGNATURE REQUIRED" in waived and "PIN VERIFIED" not in waived


@pytest.mark.parametrize(
    "changes",
    [
        {"pin_verified": True},
        {"issuer": "另一家银行"},
        {"acquirer": "另一家收单"},
        {"chip": dataclasses.replace(CHIP, tvr="0000000000")},
        {"chip": None},
    ],
    ids=["pin_verified", "issuer", "acquirer", "chip_tvr", "chip_dropped"],
)
def test_the_signed_document_covers_the_new_fields(changes: dict[str, Any]) -> None:
    base = receipt_for(ReceiptCopy.MERCHANT, sale_with(chip=CHIP, issuer="银行", acquirer="收单"))
    changed = dataclasses.replace(base, **changes)
    original = sign_receipt(base, 1, GENESIS, SAMPLE_SIGNING_KEY)
    altered = sign_receipt(changed, 1, GENESIS, SAMPLE_SIGNING_KEY)
    assert original.hash != altered.hash
