"""How each fact a layout names (`Value`) is written on paper.

One function per fact, in one table, so a layout stays pure data and every renderer
writes a fact the same way: amounts through `format_money` (``¥12.50``), times as
``YYYY/MM/DD HH:MM:SS`` in the receipt's own zone, the card number with its entry mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from pospay.money import format_money
from pospay.receipts.layout import (
    COPY_LABELS,
    ENTRY_MODE_LABELS,
    ENTRY_MODE_MARKS,
    KIND_LABELS,
    REPRINT_LABEL,
    WALLET_LABELS,
    Label,
    Value,
)
from pospay.receipts.model import Receipt

Text = str | Label


def _reprint(receipt: Receipt) -> Text | None:
    if receipt.reprint_number == 0:
        return None
    return Label(REPRINT_LABEL.zh, f"{REPRINT_LABEL.en} {receipt.reprint_number}")


_WRITERS: Mapping[Value, Callable[[Receipt], Text | None]] = MappingProxyType(
    {
        Value.COPY: lambda r: COPY_LABELS[r.copy],
        Value.REPRINT: _reprint,
        Value.MERCHANT_NAME: lambda r: r.merchant_name,
        Value.MERCHANT_ID: lambda r: r.merchant_id,
        Value.TERMINAL_ID: lambda r: r.terminal_id,
        Value.OPERATOR: lambda r: r.operator,
        Value.CARD: lambda r: r.card_display + ENTRY_MODE_MARKS.get(r.method, ""),
        Value.CARD_BRAND: lambda r: None if r.wallet else r.card_brand,
        Value.ENTRY_MODE: lambda r: ENTRY_MODE_LABELS.get(r.method),
        Value.ISSUER: lambda r: r.issuer,
        Value.ACQUIRER: lambda r: r.acquirer,
        Value.KIND: lambda r: KIND_LABELS[r.kind],
        Value.BATCH: lambda r: r.batch,
        Value.VOUCHER: lambda r: r.voucher,
        Value.AUTH_CODE: lambda r: r.auth_code,
        Value.RRN: lambda r: r.rrn,
        Value.DATE_TIME: lambda r: r.at.strftime("%Y/%m/%d %H:%M:%S"),
        Value.AMOUNT: lambda r: format_money(r.amount),
        Value.BALANCE: lambda r: None if r.balance is None else format_money(r.balance),
        Value.REFERENCE: lambda r: r.reference,
        Value.CHIP_AID: lambda r: r.chip.aid if r.chip else None,
        Value.CHIP_LABEL: lambda r: r.chip.label if r.chip else None,
        Value.CHIP_TVR: lambda r: r.chip.tvr if r.chip else None,
        Value.CHIP_TSI: lambda r: r.chip.tsi if r.chip else None,
        Value.CHIP_CRYPTOGRAM: lambda r: r.chip.cryptogram if r.chip else None,
        Value.SEAL: lambda r: r.seal,
        Value.WALLET: lambda r: WALLET_LABELS.get(r.wallet, r.wallet) if r.wallet else None,
        Value.WALLET_ORDER: lambda r: r.wallet_order,
        Value.PAYER: lambda r: r.payer,
    }
)


def write_value(value: Value, receipt: Receipt) -> Text | None:
    """`value` as printed on `receipt`, or None when this receipt has no such fact."""
    return _WRITERS[value](receipt)
