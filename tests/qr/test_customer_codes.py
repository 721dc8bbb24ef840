"""Customer-presented codes: the wallet table, and the reason for each refusal."""

from __future__ import annotations

import pytest

from pospay.qr import CustomerCode, Refusal, Wallet, classify
from pospay.qr.customer_codes import mask


@pytest.mark.parametrize(
    ("code", "wallet"),
    [
        ("101234567890123456", Wallet.WECHAT),
        ("151234567890123456", Wallet.WECHAT),
        ("2512345678901234", Wallet.ALIPAY),
        ("281234567890123456", Wallet.ALIPAY),
        ("301234567890123456789012", Wallet.ALIPAY),
        ("6212345678901234567", Wallet.UNIONPAY),
    ],
)
def test_accepted(code: str, wallet: Wallet) -> None:
    found = classify(code)
    assert isinstance(found, CustomerCode)
    assert found.wallet is wallet
    assert found.masked == mask(code)
    assert found.masked != code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "empty"),
        ("13456789012345678a", "digits only"),
        ("１３４５６７８９０１２３４５６７８９", "digits only"),  # full-width digits
        ("13456789012345678", "has 17 digits"),  # WeChat prefix, one digit short
        ("1345678901234567890", "has 19 digits"),
        ("251234567890123", "has 15 digits"),  # Alipay needs 16 to 24
        ("3012345678901234567890123", "has 25 digits"),
        ("621234567890123456", "has 18 digits"),  # UnionPay is 19
        ("091234567890123456", "prefix 09"),
        ("161234567890123456", "prefix 16"),
        ("311234567890123456", "prefix 31"),
        ("7", "prefix 7"),
    ],
)
def test_refused_with_reason(code: str, reason: str) -> None:
    found = classify(code)
    assert isinstance(found, Refusal)
    assert reason in found.reason_en
    assert found.reason_zh
    if len(code) > 6:
        assert code not in found.reason_en


def test_mask_shows_at_most_two_and_four() -> None:
    assert mask("134567890123456789") == "13************6789"
    assert mask("123456") == "******"
