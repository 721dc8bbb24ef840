"""Paper and receipt layouts, as data.

A layout is a tuple of elements read top to bottom: centred headings, label/value
fields, rules, the signature block and wrapped paragraphs. It names the facts it
shows (`Value`) and the bilingual labels it prints; `compose.py` turns a layout, a
receipt and a paper width into lines, and each renderer only draws those lines.
A new slip (void, refund, settlement) is a new tuple, not new code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from pospay.receipts.model import ReceiptCopy
from pospay.transaction import Kind, Method


@dataclass(frozen=True, slots=True)
class Paper:
    """A thermal paper roll: its printable width in dots and in font-A columns."""

    name: str
    width_mm: int
    printable_dots: int
    dots_per_column: int = 12  # font A is 12 x 24 dots; a Chinese character is 24 x 24

    @property
    def columns(self) -> int:
        return self.printable_dots // self.dots_per_column


PAPER_58MM = Paper("58mm", 58, 384)  # 32 columns
PAPER_80MM = Paper("80mm", 80, 576)  # 48 columns
PAPERS: Mapping[str, Paper] = MappingProxyType({p.name: p for p in (PAPER_58MM, PAPER_80MM)})


@dataclass(frozen=True, slots=True)
class Label:
    """Chinese then English on one line, or on two when one line is too narrow."""

    zh: str
    en: str


class Style(StrEnum):
    NORMAL = "normal"
    BOLD = "bold"
    LARGE = "large"  # bold and double height, same width: the title and the amount


class Value(StrEnum):
    """A fact of the receipt that a layout can show; `values.py` writes each one."""

    COPY = "copy"
    REPRINT = "reprint"
    MERCHANT_NAME = "merchant_name"
    MERCHANT_ID = "merchant_id"
    TERMINAL_ID = "terminal_id"
    OPERATOR = "operator"
    CARD = "card"
    CARD_BRAND = "card_brand"
    ENTRY_MODE = "entry_mode"
    ISSUER = "issuer"
    ACQUIRER = "acquirer"
    KIND = "kind"
    BATCH = "batch"
    VOUCHER = "voucher"
    AUTH_CODE = "auth_code"
    RRN = "rrn"
    DATE_TIME = "date_time"
    AMOUNT = "amount"
    BALANCE = "balance"
    REFERENCE = "reference"
    CHIP_AID = "chip_aid"
    CHIP_LABEL = "chip_label"
    CHIP_TVR = "chip_tvr"
    CHIP_TSI = "chip_tsi"
    CHIP_CRYPTOGRAM = "chip_cryptogram"
    SEAL = "seal"
    WALLET = "wallet"
    WALLET_ORDER = "wallet_order"
    PAYER = "payer"


@dataclass(frozen=True, slots=True)
class Heading:
    """Centred text; a `Value` heading is left out when the receipt has no such fact."""

    text: Label | Value
    style: Style = Style.NORMAL


@dataclass(frozen=True, slots=True)
class Field:
    """Label at the left, value at the right; left out when the value is absent or blank."""

    label: Label
    value: Value
    style: Style = Style.NORMAL


@dataclass(frozen=True, slots=True)
class Rule:
    char: str = "-"


@dataclass(frozen=True, slots=True)
class Paragraph:
    """Left-aligned wrapped text: the Chinese, then the English."""

    text: Label


@dataclass(frozen=True, slots=True)
class Signature:
    """How the cardholder was verified: "PIN verified" when the issuer verified a PIN;
    else room to sign on the merchant copy when a signature is required; else the waiver."""

    sign: Label
    waived: Label
    pin: Label
    space_lines: int = 2


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR code of `value` under a centred label, its payload printed below it as text;
    left out, label and all, when the receipt has no such fact."""

    label: Label
    value: Value


Element = Heading | Field | Rule | Paragraph | Signature | QrCode
Layout = tuple[Element, ...]

COPY_LABELS: Mapping[ReceiptCopy, Label] = MappingProxyType(
    {
        ReceiptCopy.MERCHANT: Label("商户存根", "MERCHANT COPY"),
        ReceiptCopy.CUSTOMER: Label("持卡人存根", "CARDHOLDER COPY"),
    }
)

REPRINT_LABEL = Label("重打印", "REPRINT")

KIND_LABELS: Mapping[Kind, Label] = MappingProxyType(
    {
        Kind.SALE: Label("消费", "SALE"),
        Kind.BALANCE_INQUIRY: Label("查询余额", "BALANCE INQUIRY"),
        Kind.VOID: Label("撤销", "VOID"),
        Kind.REFUND: Label("退货", "REFUND"),
        Kind.PREAUTH: Label("预授权", "PRE-AUTH"),
        Kind.PREAUTH_COMPLETION: Label("预授权完成", "AUTH COMPLETE"),
        Kind.PREAUTH_CANCEL: Label("预授权撤销", "PRE-AUTH CANCEL"),
        Kind.TRANSFER: Label("转账", "TRANSFER"),
        Kind.REVERSAL: Label("冲正", "REVERSAL"),
        Kind.SIGN_IN: Label("签到", "SIGN IN"),
        Kind.SETTLEMENT: Label("结算", "SETTLEMENT"),
        Kind.BATCH_UPLOAD: Label("批上送", "BATCH UPLOAD"),
        Kind.STATUS_QUERY: Label("交易状态查询", "STATUS QUERY"),
        Kind.PREPAID_ISSUE: Label("储值卡发卡", "PREPAID ISSUE"),
        Kind.PREPAID_ACTIVATE: Label("储值卡激活", "PREPAID ACTIVATE"),
        Kind.PREPAID_TOP_UP: Label("储值卡充值", "PREPAID TOP-UP"),
        Kind.PREPAID_CARD_TOP_UP: Label("刷卡充值", "TOP-UP BY CARD"),
        Kind.PREPAID_FREEZE: Label("储值卡冻结", "PREPAID FREEZE"),
        Kind.PREPAID_UNFREEZE: Label("储值卡解冻", "PREPAID UNFREEZE"),
    }
)

# Printed after the card number, as Chinese slips do: chip, swipe, contactless, keyed.
ENTRY_MODE_MARKS: Mapping[Method, str] = MappingProxyType(
    {
        Method.CARD_CHIP: "/I",
        Method.CARD_MAGSTRIPE: "/S",
        Method.CARD_CONTACTLESS: "/C",
        Method.CARD_MANUAL: "/M",
    }
)

ENTRY_MODE_LABELS: Mapping[Method, Label] = MappingProxyType(
    {
        Method.CARD_CHIP: Label("插卡", "CHIP"),
        Method.CARD_MAGSTRIPE: Label("刷卡", "SWIPE"),
        Method.CARD_CONTACTLESS: Label("挥卡", "CONTACTLESS"),
        Method.CARD_MANUAL: Label("手输卡号", "MANUAL"),
        Method.QR_CUSTOMER: Label("扫付款码", "PAYMENT CODE"),
        Method.QR_MERCHANT: Label("顾客扫码", "MERCHANT QR"),
    }
)

WALLET_LABELS: Mapping[str, Label] = MappingProxyType(
    {
        "alipay": Label("支付宝", "ALIPAY"),
        "wechat": Label("微信支付", "WECHAT PAY"),
        "unionpay": Label("银联二维码", "UNIONPAY QR"),
    }
)

SALE_SLIP: Layout = (
    Heading(Label("签购单", "POS SALES SLIP"), Style.LARGE),
    Heading(Value.COPY),
    Heading(Value.REPRINT, Style.BOLD),
    Rule(),
    Field(Label("商户名称", "MERCHANT NAME"), Value.MERCHANT_NAME),
    Field(Label("商户编号", "MERCHANT NO."), Value.MERCHANT_ID),
    Field(Label("终端编号", "TERMINAL NO."), Value.TERMINAL_ID),
    Field(Label("操作员", "OPERATOR"), Value.OPERATOR),
    Rule(),
    Field(Label("卡号", "CARD NO."), Value.CARD),
    Field(Label("卡组织", "CARD BRAND"), Value.CARD_BRAND),
    Field(Label("钱包", "WALLET"), Value.WALLET),
    Field(Label("订单号", "ORDER NO."), Value.WALLET_ORDER),
    Field(Label("付款人", "PAYER"), Value.PAYER),
    Field(Label("输入方式", "ENTRY MODE"), Value.ENTRY_MODE),
    Field(Label("发卡行", "ISSUER"), Value.ISSUER),
    Field(Label("收单行", "ACQUIRER"), Value.ACQUIRER),
    Field(Label("交易类型", "TRANS TYPE"), Value.KIND, Style.BOLD),
    Field(Label("批次号", "BATCH NO."), Value.BATCH),
    Field(Label("凭证号", "VOUCHER NO."), Value.VOUCHER),
    Field(Label("授权码", "AUTH NO."), Value.AUTH_CODE),
    Field(Label("参考号", "REF NO."), Value.RRN),
    Field(Label("日期/时间", "DATE/TIME"), Value.DATE_TIME),
    Rule(),
    Field(Label("金额", "AMOUNT"), Value.AMOUNT, Style.LARGE),
    Field(Label("卡内余额", "BALANCE"), Value.BALANCE, Style.BOLD),
    Rule(),
    Field(Label("备注", "REFERENCE"), Value.REFERENCE),
    Field(Label("应用标识", "AID"), Value.CHIP_AID),
    Field(Label("应用标签", "APP LABEL"), Value.CHIP_LABEL),
    Field(Label("终端验证结果", "TVR"), Value.CHIP_TVR),
    Field(Label("交易状态信息", "TSI"), Value.CHIP_TSI),
    Field(Label("应用密文", "ARQC"), Value.CHIP_CRYPTOGRAM),
    Rule(),
    Signature(
        sign=Label("持卡人签名", "CARDHOLDER SIGNATURE"),
        waived=Label("免签", "NO SIGNATURE REQUIRED"),
        pin=Label("密码已验证", "PIN VERIFIED"),
    ),
    Paragraph(
        Label(
            "本人确认以上交易，同意将其记入本卡账户",
            "I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES",
        )
    ),
    QrCode(Label("电子签名验证", "E-RECEIPT VERIFICATION"), Value.SEAL),
)

# A QR wallet payment's slip: the sale slip, acknowledging a wallet payment, not a card's.
QR_SALE_SLIP: Layout = tuple(
    Paragraph(Label("本人确认以上交易，款项已由钱包支付", "I ACKNOWLEDGE THIS WALLET PAYMENT"))
    if isinstance(element, Paragraph)
    else element
    for element in SALE_SLIP
)
