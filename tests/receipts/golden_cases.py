"""The receipts the golden files hold: one per transaction type that prints receipts and
per way the card was read, QR wallet payments (a customer's payment code, the terminal's
QR, a refund of one), plus the settlement and reversal-failure slips.

Card-present kinds (sale, pre-authorisation, transfer) are read by chip, contactless,
magnetic stripe and manual entry. Follow-ups (completion, pre-authorisation cancel,
void, refund) read no card: they name their original by reference and carry its
method (here a chip sale's) without chip data, as the terminal journal records them.
The three ways a cardholder is verified each appear: a PIN (chip), no signature
(a small contactless sale) and a signature line (the rest). A prepaid card's payment,
its top-ups (in cash and by card) and a refund to it show the card's balance after
the attempt (the brand is "Prepaid"; the card is read by its stripe).

Every input is fixed (times, numbers, and the signing key of `samples`, whose Ed25519
signatures are deterministic), so the same case always gives the same bytes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from pospay.money import Money
from pospay.receipts import ChipData, Receipt, ReceiptCopy, SaleReceiptData, build_sale_receipts
from pospay.receipts.reversal_failure import ReversalFailureSlipData
from pospay.receipts.settlement import SettlementSlipData
from pospay.receipts.signing import GENESIS, qr_payload, sign_receipt
from pospay.settlement import BatchTotals, KindTotal
from pospay.transaction import Kind, Method

from .samples import SAMPLE_SALE, SAMPLE_SIGNING_KEY

CARD_PRESENT_KINDS = (Kind.SALE, Kind.PREAUTH, Kind.TRANSFER)
FOLLOW_UP_KINDS = (Kind.PREAUTH_COMPLETION, Kind.PREAUTH_CANCEL, Kind.VOID, Kind.REFUND)
CARD_METHODS = (
    Method.CARD_CHIP,
    Method.CARD_CONTACTLESS,
    Method.CARD_MAGSTRIPE,
    Method.CARD_MANUAL,
)
METHOD_NAMES = {
    Method.CARD_CHIP: "chip",
    Method.CARD_CONTACTLESS: "contactless",
    Method.CARD_MAGSTRIPE: "magstripe",
    Method.CARD_MANUAL: "manual",
}

# What the simulated UnionPay chip answers (pospay.emv.card): application, TVR, TSI, ARQC.
CHIP = ChipData(
    aid="A000000333010101",
    label="UnionPay Debit",
    tvr="0000008000",
    tsi="E800",
    cryptogram="3F9A61C2D07B58E4",
)
CONTACTLESS = dataclasses.replace(CHIP, tvr="0000000000", cryptogram="81D4E02B6C3F97A5")

# Issuer and acquirer as an acquirer prints them; the names are invented.
ISSUER = "示范发卡银行"
ACQUIRER = "示范收单机构"


@dataclass(frozen=True, slots=True)
class SaleCase:
    """One transaction whose two copies are golden files `<name>-<paper>-<copy>`."""

    name: str  # "<kind>-<method>" or "<kind>-by-reference"
    sale: SaleReceiptData


def _card_present(kind: Kind, method: Method, index: int) -> SaleCase:
    chip = {Method.CARD_CHIP: CHIP, Method.CARD_CONTACTLESS: CONTACTLESS}.get(method)
    sale = dataclasses.replace(
        SAMPLE_SALE,
        kind=kind,
        method=method,
        voucher=f"{200 + index:06d}",
        stan=f"{300 + index:06d}",
        rrn=f"6010117{400 + index:05d}",
        amount=Money(880 if method is Method.CARD_CONTACTLESS else 128_800, "CNY"),
        reference=f"POS-20260101-{index:04d}",
        issuer=ISSUER,
        acquirer=ACQUIRER,
        chip=chip,
        pin_verified=method is Method.CARD_CHIP,  # chip: online PIN
        signature_required=method in (Method.CARD_MAGSTRIPE, Method.CARD_MANUAL),
    )
    return SaleCase(f"{kind.value}-{METHOD_NAMES[method]}", sale)


def _follow_up(kind: Kind, index: int) -> SaleCase:
    sale = dataclasses.replace(
        SAMPLE_SALE,
        kind=kind,
        method=Method.CARD_CHIP,
        voucher=f"{200 + index:06d}",
        stan=f"{300 + index:06d}",
        rrn=f"6010117{400 + index:05d}",
        # A refund is the acquirer's credit: no authorisation code comes back.
        auth_code=None if kind is Kind.REFUND else SAMPLE_SALE.auth_code,
        amount=Money(4_560, "CNY"),
        reference=f"POS-20260101-{index:04d}",
        issuer=ISSUER,
        acquirer=ACQUIRER,
        signature_required=True,
    )
    return SaleCase(f"{kind.value}-by-reference", sale)


# A card of the test prepaid programme's stock (BIN 88910000), masked as the journal keeps it.
PREPAID_DISPLAY = "889100******5679"
PREPAID_KINDS = (Kind.SALE, Kind.PREPAID_TOP_UP, Kind.PREPAID_CARD_TOP_UP, Kind.REFUND)


def _prepaid(kind: Kind, index: int) -> SaleCase:
    by_reference = kind is Kind.REFUND
    balances = {
        Kind.SALE: 371_20,
        Kind.PREPAID_TOP_UP: 500_00,
        Kind.PREPAID_CARD_TOP_UP: 700_00,
        Kind.REFUND: 400_00,
    }
    sale = dataclasses.replace(
        SAMPLE_SALE,
        kind=kind,
        method=Method.CARD_MAGSTRIPE,
        card_brand="Prepaid",
        masked_pan=PREPAID_DISPLAY,
        voucher=f"{200 + index:06d}",
        stan=f"{300 + index:06d}",
        rrn=f"6010117{400 + index:05d}",
        auth_code=None if by_reference else SAMPLE_SALE.auth_code,
        amount=Money({Kind.SALE: 128_80, Kind.REFUND: 28_80}.get(kind, 500_00), "CNY"),
        reference=f"POS-20260101-{index:04d}",
        signature_required=False,
        balance=Money(balances[kind], "CNY"),
    )
    method = "by-reference" if by_reference else METHOD_NAMES[Method.CARD_MAGSTRIPE]
    return SaleCase(f"prepaid-{kind.value}-{method}", sale)


def _qr(name: str, kind: Kind, method: Method, wallet: str, payer: str, index: int) -> SaleCase:
    """A QR wallet payment: no card, the wallet, its order number and the masked payer."""
    sale = dataclasses.replace(
        SAMPLE_SALE,
        kind=kind,
        method=method,
        masked_pan="",
        card_brand=wallet,
        voucher=f"{200 + index:06d}",
        stan=f"{300 + index:06d}",
        rrn=f"6010117{400 + index:05d}",
        auth_code=None if kind is Kind.REFUND else "000417",
        amount=Money(3_680, "CNY"),
        reference=f"POS-20260101-{index:04d}",
        acquirer=ACQUIRER,
        signature_required=False,
        wallet=wallet,
        wallet_order=f"PP601011740{index:03d}",
        payer=payer,
    )
    return SaleCase(name, sale)


def _cases() -> tuple[SaleCase, ...]:
    cases = [
        _card_present(kind, method, index)
        for index, (kind, method) in enumerate(
            ((k, m) for k in CARD_PRESENT_KINDS for m in CARD_METHODS), start=1
        )
    ]
    start = len(cases) + 1
    cases += [_follow_up(kind, index) for index, kind in enumerate(FOLLOW_UP_KINDS, start)]
    start = len(cases) + 1
    # Prepaid and QR cases both number on from the follow-ups: each kind of receipt is
    # golden on its own, so they may share voucher numbers.
    cases += [_prepaid(kind, index) for index, kind in enumerate(PREPAID_KINDS, start)]
    cases += [
        _qr("sale-payment-code", Kind.SALE, Method.QR_CUSTOMER, "alipay", "138****0001", start),
        _qr("sale-merchant-qr", Kind.SALE, Method.QR_MERCHANT, "wechat", "oPOS****0007", start + 1),
        _qr(
            "refund-qr-by-reference",
            Kind.REFUND,
            Method.QR_CUSTOMER,
            "alipay",
            "138****0001",
            start + 2,
        ),
    ]
    return tuple(cases)


SALE_CASES = _cases()


def sealed(case: SaleCase, copy: ReceiptCopy) -> Receipt:
    """`copy` of the case's receipts, signed as the first document of a chain."""
    merchant, customer = build_sale_receipts(case.sale)
    receipt = merchant if copy is ReceiptCopy.MERCHANT else customer
    signed = sign_receipt(receipt, 1, GENESIS, SAMPLE_SIGNING_KEY)
    return dataclasses.replace(receipt, seal=qr_payload(signed))


SETTLEMENT = SettlementSlipData(
    merchant_name=SAMPLE_SALE.merchant_name,
    merchant_id=SAMPLE_SALE.merchant_id,
    terminal_id=SAMPLE_SALE.terminal_id,
    operator="01",
    supervisor="S1",
    batch="000001",
    at=datetime(2026, 1, 1, 14, 0, 0, tzinfo=UTC),  # 22:00 in Beijing
    currency="CNY",
    by_kind=(
        KindTotal(Kind.SALE, 12, 1_234_500),
        KindTotal(Kind.PREAUTH_COMPLETION, 2, 91_200),
        KindTotal(Kind.VOID, 1, 12_800),
        KindTotal(Kind.REFUND, 1, 4_560),
    ),
    totals=BatchTotals(14, 1_325_700, 2, 17_360),
    balanced_first_time=True,
    uploaded=0,
)
SETTLEMENT_AFTER_UPLOAD = dataclasses.replace(
    SETTLEMENT, batch="000002", balanced_first_time=False, uploaded=16
)

REVERSAL_FAILURE = ReversalFailureSlipData(
    merchant_name=SAMPLE_SALE.merchant_name,
    merchant_id=SAMPLE_SALE.merchant_id,
    terminal_id=SAMPLE_SALE.terminal_id,
    kind=Kind.SALE,
    voucher="000231",
    stan="000331",
    reversal_stan="000332",
    masked_pan=SAMPLE_SALE.masked_pan,
    amount=Money(12_800, "CNY"),
    at=datetime(2026, 1, 1, 10, 15, 0, tzinfo=UTC),
    reason_code="98",
    tries=3,
    last_error="not sent: host unreachable",
)
