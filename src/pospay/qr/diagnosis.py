"""What is wrong with a scanned code, in a sentence a cashier understands.

`check` looks at a code in the order a reader would trust it: is it an EMVCo payload (or a
customer's payment code) at all; does its CRC hold (a wrong CRC means the text was damaged
or edited, and every later complaint would be a symptom); can its fields be read; are the
mandatory fields there and well formed; does it ask for the sale's currency and amount (a
static code without an amount lets the payer type it, so it fits any amount); has it
expired, by the expiry field of any scheme `pospay.qr.expiry` knows. The first fault found
is the verdict. What is odd but harmless (a CRC that holds written in lower case, as
Fonepay writes it: wallets read hex either way) is a note on the verdict, not a fault. It
does no I/O: the clock (`now`) is passed in, and without it expiry is not judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from pospay.errors import BadInput, InvalidAmount
from pospay.money import Money, currency_exponent, currency_numeric
from pospay.money.amount import currency_from_numeric
from pospay.qr import emvco
from pospay.qr.customer_codes import WALLET_EN, WALLET_ZH, CustomerCode, classify
from pospay.qr.expiry import Expiry, ExpiryFieldError, expiries


class VerdictKind(StrEnum):
    USABLE = "usable"
    UNREADABLE = "unreadable"
    NOT_EMVCO = "not_emvco"
    BAD_LENGTH = "bad_length"
    CRC_MISMATCH = "crc_mismatch"
    MISSING_TAG = "missing_tag"
    BAD_VALUE = "bad_value"
    CURRENCY_MISMATCH = "currency_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    EXPIRED = "expired"
    ALREADY_USED = "already_used"
    BAD_CUSTOMER_CODE = "bad_customer_code"


class NoteKind(StrEnum):
    LOWERCASE_CRC = "lowercase_crc"


@dataclass(frozen=True, slots=True)
class Note:
    """Something odd about a code that does not decide the verdict, in both languages."""

    kind: NoteKind
    message_zh: str
    message_en: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer: `kind`, the cashier's sentence in Chinese and English, the facts behind it
    (`details`: expected/found/tag/position as text), when the code could be read its fields
    (`summary` by name; `fields` as parsed), and `notes` on what is odd but not at fault."""

    kind: VerdictKind
    message_zh: str
    message_en: str
    details: dict[str, str] = field(default_factory=dict)
    summary: dict[str, str] = field(default_factory=dict)
    fields: tuple[emvco.Field, ...] = ()
    customer_code: CustomerCode | None = None
    notes: tuple[Note, ...] = ()

    @property
    def usable(self) -> bool:
        return self.kind is VerdictKind.USABLE

    @property
    def message(self) -> str:
        return f"{self.message_zh} / {self.message_en}"


MANDATORY = (
    emvco.PAYLOAD_FORMAT,
    emvco.MERCHANT_CATEGORY,
    emvco.CURRENCY,
    emvco.COUNTRY,
    emvco.MERCHANT_NAME,
    emvco.MERCHANT_CITY,
    emvco.CRC,
)
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]*)?")


def already_used(verdict: Verdict, voucher: str, state: str) -> Verdict:
    """The verdict on a usable merchant QR whose order the terminal's journal has ended:
    `state` is the attempt's (approved, declined, reversed...), `voucher` its number."""
    return Verdict(
        VerdictKind.ALREADY_USED,
        f"二维码已使用过：凭证号 {voucher} 的交易已结束（{state}），请重新生成",
        f"The code was used already: the attempt with voucher {voucher} is {state}; "
        "show a new one.",
        {"voucher": voucher, "state": state, "reference": verdict.summary.get("reference", "")},
        verdict.summary,
        verdict.fields,
        notes=verdict.notes,
    )


def unreadable(reason: str) -> Verdict:
    """The verdict for an image no QR code could be read from (decoding is the caller's)."""
    return Verdict(
        VerdictKind.UNREADABLE,
        "无法识别：图片中读不出二维码，请重新扫描或让顾客刷新",
        "Unreadable image: no QR code could be read from it; scan again or ask for a new code.",
        {"reason": reason},
    )


def check(
    payload: str,
    *,
    amount: Money | None = None,
    currency: str | None = None,
    now: datetime | None = None,
) -> Verdict:
    """The verdict on `payload` for a sale of `amount` (or in `currency`) at `now`."""
    if amount is not None and currency is not None and amount.currency != currency.upper():
        raise InvalidAmount(f"amount {amount} is not in the currency given, {currency}")
    wanted_currency = amount.currency if amount is not None else currency
    if wanted_currency is not None:
        currency_numeric(wanted_currency)  # an unknown currency is the caller's error
    text = payload.strip()
    if not text.startswith("00") and text.isascii() and text.isdigit():
        return _customer(text)
    if not text.startswith("000201"):
        return Verdict(
            VerdictKind.NOT_EMVCO,
            "这不是收款二维码，也不是付款码",
            "This is not an EMVCo payment QR code (it must begin 000201) "
            "nor a customer payment code.",
            {"found": text[:6]},
        )
    fault = _crc_fault(text)
    if fault is not None:
        return fault
    notes = _crc_notes(text)
    try:
        fields = emvco.parse_payload(text)
    except emvco.PayloadStructureError as error:
        verdict = Verdict(
            VerdictKind.BAD_LENGTH,
            "二维码数据长度有误，内容不完整或被改动",
            f"The code's length is wrong: {error}. The code is cut short or altered.",
            {"position": str(error.pos), "reason": str(error)} | _tag(error.tag),
        )
    else:
        verdict = _judge(fields, amount, wanted_currency, now)
    return replace(verdict, notes=notes) if notes else verdict


def _customer(text: str) -> Verdict:
    found = classify(text)
    if isinstance(found, CustomerCode):
        return Verdict(
            VerdictKind.USABLE,
            f"可以使用：{WALLET_ZH[found.wallet]}付款码 {found.masked}",
            f"Usable: a {WALLET_EN[found.wallet]} customer payment code ({found.masked}).",
            {"wallet": str(found.wallet)},
            customer_code=found,
        )
    return Verdict(
        VerdictKind.BAD_CUSTOMER_CODE,
        f"付款码无效：{found.reason_zh}，请让顾客刷新付款码",
        f"Not a valid payment code: {found.reason_en}. Ask the customer to refresh it.",
        {"reason": found.reason_en},
    )


def _crc_fault(text: str) -> Verdict | None:
    """Tag 63 is the last 8 characters; its fault, or None when it holds (in either case, as
    hex is read) or is absent."""
    if text[-8:-4] != emvco.CRC + "04":
        return None  # no CRC at the end: the structure check names what is wrong
    found, expected = text[-4:], emvco.crc_of(text[:-4])
    if found.upper() == expected:
        return None
    return Verdict(
        VerdictKind.CRC_MISMATCH,
        f"校验码不符：应为 {expected}，实际为 {found}，二维码内容已损坏或被改动",
        f"CRC mismatch: expected {expected}, found {found}. The code is damaged or altered.",
        {"expected": expected, "found": found},
    )


def _crc_notes(text: str) -> tuple[Note, ...]:
    """The note for a CRC that holds but is not written in upper case, as EMVCo writes it."""
    found = text[-4:]
    if text[-8:-4] != emvco.CRC + "04" or found == found.upper():
        return ()
    return (
        Note(
            NoteKind.LOWERCASE_CRC,
            f"校验码 {found} 用了小写字母（规范为大写 {found.upper()}），校验无误，钱包照常接受",
            f"The CRC {found} is written in lower case (EMVCo writes {found.upper()}); "
            "it holds, and wallets accept it.",
        ),
    )


def _judge(
    fields: tuple[emvco.Field, ...],
    amount: Money | None,
    currency: str | None,
    now: datetime | None,
) -> Verdict:
    by_tag = {f.tag: f for f in fields}
    crc = by_tag.get(emvco.CRC)
    if crc is not None and (fields[-1] is not crc or len(crc.value) != 4):
        return Verdict(
            VerdictKind.BAD_LENGTH,
            "校验码不在二维码末尾，数据长度有误",
            "The code's length is wrong: the CRC (tag 63) must be its last field, 4 characters.",
            {"tag": emvco.CRC},
        )
    for tag in MANDATORY:
        if tag not in by_tag:
            return _missing(tag, emvco.TAG_NAMES[tag], emvco.TAG_NAMES_ZH[tag])
    if not any(emvco.is_merchant_account(tag) for tag in by_tag):
        return _missing("02-51", "merchant account information", "商户账户信息")
    try:
        summary, code_amount, expiry = _read_values(by_tag)
    except _BadValue as error:
        return Verdict(
            VerdictKind.BAD_VALUE,
            f"二维码字段 {error.tag}{f'（{error.name_zh}）' if error.name_zh else ' '}格式错误",
            f"Field {error.tag}{f' ({error.name})' if error.name else ''} is malformed: {error}.",
            {"tag": error.tag, "found": error.found},
        )
    code_currency = summary["currency"]
    if currency is not None and code_currency != currency.upper():
        return Verdict(
            VerdictKind.CURRENCY_MISMATCH,
            f"币种不符：二维码为 {code_currency}，本笔交易为 {currency.upper()}",
            f"Wrong currency: the code asks for {code_currency}, the sale is in "
            f"{currency.upper()}.",
            {"expected": currency.upper(), "found": code_currency},
            summary,
            fields,
        )
    payer_types_amount = code_amount is None and summary.get("initiation") == "static"
    if amount is not None and code_amount != amount and not payer_types_amount:
        found = str(code_amount) if code_amount is not None else "none"
        return Verdict(
            VerdictKind.AMOUNT_MISMATCH,
            f"金额不符：二维码为 {found}，本笔交易为 {amount}",
            f"Wrong amount: the code asks for {found}, the sale is {amount}.",
            {"expected": str(amount), "found": found},
            summary,
            fields,
        )
    if now is not None and expiry is not None and now >= expiry.at:
        at = summary["expires_at"]
        return Verdict(
            VerdictKind.EXPIRED,
            f"二维码已过期：{expiry.scheme} 有效期（字段 {expiry.field}）截至 {at}，请重新生成",
            f"The code expired at {at} (its {expiry.scheme} expiry, field {expiry.field}); "
            "show a new one.",
            {
                "expires_at": at,
                "scheme": expiry.scheme,
                "field": expiry.field,
                "now": now.astimezone(UTC).isoformat(),
            },
            summary,
            fields,
        )
    name = summary["merchant_name"]
    if code_amount is not None:
        zh, en = f"可以使用：{name} {code_amount}", f"Usable: {name}, {code_amount}."
    else:
        typed = amount if amount is not None else summary["currency"]
        zh = f"可以使用：{name}，金额由付款人输入（{typed}）"
        en = f"Usable: {name}, amount typed by payer ({typed})."
    return Verdict(VerdictKind.USABLE, zh, en, {}, summary, fields)


def _missing(tag: str, name: str, name_zh: str) -> Verdict:
    return Verdict(
        VerdictKind.MISSING_TAG,
        f"二维码缺少必填字段 {tag}（{name_zh}）",
        f"The code lacks mandatory field {tag} ({name}).",
        {"tag": tag, "name": name},
    )


def _tag(tag: str | None) -> dict[str, str]:
    return {} if tag is None else {"tag": tag}


class _BadValue(Exception):
    def __init__(
        self, tag: str, found: str, why: str, name: str | None = None, name_zh: str | None = None
    ) -> None:
        super().__init__(why)
        self.tag = tag
        self.found = found
        self.name = name or emvco.TAG_NAMES.get(tag)
        self.name_zh = name_zh or emvco.TAG_NAMES_ZH.get(tag)


def _read_values(
    by_tag: dict[str, emvco.Field],
) -> tuple[dict[str, str], Money | None, Expiry | None]:
    """The named fields, the amount and the earliest expiry, or `_BadValue` for the first
    bad one."""

    def value(tag: str) -> str:
        return by_tag[tag].value

    summary: dict[str, str] = {}
    initiation = by_tag.get(emvco.POINT_OF_INITIATION)
    if initiation is not None:
        kinds = {emvco.STATIC: "static", emvco.DYNAMIC: "dynamic"}
        if initiation.value not in kinds:
            raise _BadValue(emvco.POINT_OF_INITIATION, initiation.value, "must be 11 or 12")
        summary["initiation"] = kinds[initiation.value]
    if not re.fullmatch(r"[0-9]{4}", value(emvco.MERCHANT_CATEGORY)):
        raise _BadValue(emvco.MERCHANT_CATEGORY, value(emvco.MERCHANT_CATEGORY), "not 4 digits")
    summary["merchant_category"] = value(emvco.MERCHANT_CATEGORY)
    numeric = value(emvco.CURRENCY)
    try:
        if not re.fullmatch(r"[0-9]{3}", numeric):
            raise BadInput("not 3 digits")
        currency = currency_from_numeric(numeric)
    except BadInput:
        raise _BadValue(emvco.CURRENCY, numeric, "not an ISO 4217 numeric code") from None
    summary["currency"] = currency
    amount = None
    if emvco.AMOUNT in by_tag:
        amount = _amount(value(emvco.AMOUNT), currency)
        summary["amount"] = str(amount)
    if not re.fullmatch(r"[A-Za-z]{2}", value(emvco.COUNTRY)):
        raise _BadValue(emvco.COUNTRY, value(emvco.COUNTRY), "not a 2-letter country code")
    summary["country"] = value(emvco.COUNTRY)
    for tag, name in ((emvco.MERCHANT_NAME, "merchant_name"), (emvco.MERCHANT_CITY, "city")):
        if not value(tag):
            raise _BadValue(tag, "", "empty")
        summary[name] = value(tag)
    accounts = [f for f in by_tag.values() if emvco.is_merchant_account(f.tag)]
    summary["merchant_accounts"] = ", ".join(
        f"{f.tag}:{f.child('00') or f.value}" if f.children else f"{f.tag}:{f.value}"
        for f in accounts
    )
    additional = by_tag.get(emvco.ADDITIONAL_DATA)
    reference = additional.child(emvco.REFERENCE_LABEL) if additional else None
    if reference is not None:
        summary["reference"] = reference
    try:
        expiry = min(expiries(by_tag.values()), key=lambda e: e.at, default=None)
    except ExpiryFieldError as error:
        raise _BadValue(
            error.tag, error.found, error.why, f"{error.scheme} expiry", f"{error.scheme} 有效期"
        ) from None
    if expiry is not None:
        summary["expires_at"] = expiry.at.isoformat()
        summary["expiry_field"] = f"{expiry.scheme} {expiry.field}"
    summary["crc"] = value(emvco.CRC)
    return summary, amount, expiry


def _amount(text: str, currency: str) -> Money:
    if len(text) > 13 or not _AMOUNT.fullmatch(text):
        raise _BadValue(emvco.AMOUNT, text, "not a decimal amount of at most 13 characters")
    scaled = Decimal(text).scaleb(currency_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise _BadValue(emvco.AMOUNT, text, f"more decimals than {currency} has")
    if scaled <= 0:
        raise _BadValue(emvco.AMOUNT, text, "not a positive amount")
    return Money(int(scaled), currency)
