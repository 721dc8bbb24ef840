"""Customer-presented payment codes: which wallet a scanned code belongs to, or why none.

The rules are the wallets' published shapes, as data:

| wallet | digits | prefix |
|---|---|---|
| WeChat Pay | 18 | 10–15 |
| Alipay | 16–24 | 25–30 |
| UnionPay QR | 19 | 62 |

A code is a bearer token for the customer's money for a minute: it is never shown whole
(`mask`), and a refusal never repeats it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Wallet(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"


@dataclass(frozen=True, slots=True)
class CodeRule:
    wallet: Wallet
    lengths: range
    prefixes: range
    label: str

    def describe(self) -> str:
        lengths = (
            str(self.lengths.start)
            if len(self.lengths) == 1
            else f"{self.lengths.start}–{self.lengths.stop - 1}"
        )
        prefixes = (
            str(self.prefixes.start)
            if len(self.prefixes) == 1
            else f"{self.prefixes.start}–{self.prefixes.stop - 1}"
        )
        return f"{self.label}: {lengths} digits starting {prefixes}"


RULES: tuple[CodeRule, ...] = (
    CodeRule(Wallet.WECHAT, range(18, 19), range(10, 16), "WeChat Pay"),
    CodeRule(Wallet.ALIPAY, range(16, 25), range(25, 31), "Alipay"),
    CodeRule(Wallet.UNIONPAY, range(19, 20), range(62, 63), "UnionPay QR"),
)


@dataclass(frozen=True, slots=True)
class CustomerCode:
    wallet: Wallet
    masked: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a code is no wallet's: English and Chinese, without the code itself."""

    reason_en: str
    reason_zh: str


def mask(code: str) -> str:
    """First 2 and last 4 characters at most; the rest as '*'."""
    if len(code) <= 6:
        return "*" * len(code)
    return code[:2] + "*" * (len(code) - 6) + code[-4:]


def classify(code: str) -> CustomerCode | Refusal:
    """The wallet of a customer-presented code, or the reason it is refused."""
    if not code:
        return Refusal("the code is empty", "付款码为空")
    if not (code.isascii() and code.isdigit()):
        return Refusal("a payment code has digits only", "付款码只能包含数字")
    prefix = int(code[:2]) if len(code) >= 2 else -1
    for rule in RULES:
        if prefix in rule.prefixes:
            if len(code) in rule.lengths:
                return CustomerCode(rule.wallet, mask(code))
            return Refusal(
                f"starts like a {rule.label} code but has {len(code)} digits ({rule.describe()})",
                f"像{WALLET_ZH[rule.wallet]}付款码，但位数为 {len(code)}，不符合规则",
            )
    return Refusal(
        f"prefix {code[:2]} belongs to no wallet we accept "
        f"({'; '.join(rule.describe() for rule in RULES)})",
        f"开头 {code[:2]} 不属于任何支持的钱包",
    )


WALLET_ZH = {Wallet.WECHAT: "微信", Wallet.ALIPAY: "支付宝", Wallet.UNIONPAY: "银联"}
WALLET_EN = {rule.wallet: rule.label for rule in RULES}
