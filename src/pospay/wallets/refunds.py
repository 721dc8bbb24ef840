"""Refunds at the wallet simulator: given once per merchant's refund number, and undone.

A refund credits the payer and raises the order's refunded amount in one unit; it is
refused (and recorded refused, so a retry gets the same answer) for an unknown or unpaid
order or an amount above what is left. Undoing a refund is pospay's extension (real
wallets cannot; an acquirer asks for a manual adjustment): it takes the money back from
the payer if the balance allows, and a refund number never seen is recorded cancelled, so
a late refund under it is refused. Each function works inside the caller's unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, update

from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.wallets.orders import CANCELLED, DONE, REFUSED, Status
from pospay.wallets.rows import credit, debit, find_order, find_refund, order_row, refund_row
from pospay.wallets.tables import wallet_order, wallet_refund


@dataclass(frozen=True, slots=True)
class RefundView:
    refund_no: str
    order_no: str | None
    amount: Money
    status: str  # done | refused | cancelled
    reason: str


def give_refund(
    connection: Connection,
    now: datetime,
    currency: str,
    wallet: Wallet,
    merchant_id: str,
    order_no: str,
    refund_no: str,
    amount: Money,
) -> RefundView:
    """Give `amount` of a paid order back to its payer; a repeated number answers as before."""
    found = find_refund(connection, wallet, merchant_id, refund_no)
    if found is not None:
        return refund_view(connection, found, currency)
    order = find_order(connection, wallet, merchant_id, order_no)
    status, reason = DONE, "refunded"
    if order is None:
        status, reason = REFUSED, "no such order"
    elif Status(order.status) is not Status.PAID:
        status, reason = REFUSED, f"the order is {order.status}"
    elif amount.minor <= 0 or amount.minor > order.amount_minor - order.refunded_minor:
        left = order.amount_minor - order.refunded_minor
        status, reason = REFUSED, f"refund of {amount.minor} above the {left} left"
    if status == DONE:
        assert order is not None
        credit(connection, order.payer_id, amount.minor)
        _count_refunded(connection, order.id, amount.minor)
    refund_id = _insert_refund(
        connection,
        now,
        wallet,
        merchant_id,
        refund_no,
        order_id=None if order is None else order.id,
        amount_minor=amount.minor,
        status=status,
        reason=reason,
    )
    return refund_view(connection, refund_row(connection, refund_id), currency)


def undo_refund(
    connection: Connection,
    now: datetime,
    currency: str,
    wallet: Wallet,
    merchant_id: str,
    refund_no: str,
) -> RefundView:
    """Undo a refund the merchant gave up on; record a number never seen as cancelled."""
    found = find_refund(connection, wallet, merchant_id, refund_no)
    if found is None:
        refund_id = _insert_refund(
            connection,
            now,
            wallet,
            merchant_id,
            refund_no,
            order_id=None,
            amount_minor=0,
            status=CANCELLED,
            reason="cancelled before it arrived",
        )
        return refund_view(connection, refund_row(connection, refund_id), currency)
    if found.status == DONE:
        order = order_row(connection, found.order_id)
        if not debit(connection, order.payer_id, found.amount_minor):
            return refund_view(connection, found, currency)  # stays done: cannot take back
        _count_refunded(connection, order.id, -found.amount_minor)
        connection.execute(
            update(wallet_refund)
            .where(wallet_refund.c.id == found.id)
            .values(status=CANCELLED, reason="refund undone", updated_at=now)
        )
    return refund_view(connection, refund_row(connection, found.id), currency)


def refund_view(connection: Connection, row: Row[Any], currency: str) -> RefundView:
    order_no = None if row.order_id is None else order_row(connection, row.order_id).order_no
    return RefundView(
        row.refund_no, order_no, Money(row.amount_minor, currency), row.status, row.reason
    )


def _count_refunded(connection: Connection, order_id: int, minor: int) -> None:
    """Add `minor` (negative: a refund undone) to what the order has refunded."""
    o = wallet_order.c
    connection.execute(
        update(wallet_order).where(o.id == order_id).values(refunded_minor=o.refunded_minor + minor)
    )


def _insert_refund(
    connection: Connection,
    now: datetime,
    wallet: Wallet,
    merchant_id: str,
    refund_no: str,
    **values: Any,
) -> int:
    refund_id: int = connection.execute(
        insert(wallet_refund)
        .values(
            wallet=wallet.value,
            merchant_id=merchant_id,
            refund_no=refund_no,
            created_at=now,
            updated_at=now,
            **values,
        )
        .returning(wallet_refund.c.id)
    ).scalar_one()
    return refund_id
