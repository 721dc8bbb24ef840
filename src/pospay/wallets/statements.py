"""The wallet simulator's books read back: a merchant's daily bill and the money standing.

`bill_lines` is the statement a wallet gives a merchant for one UTC day (the bill file of
`pospay.host.wallet_bills`): payments, revocations, refunds and refunds undone, each with
its sign from the merchant's side. `movements` is what the auditor compares with the host
journal: the money standing at each wallet per merchant's reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, select

from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.wallets.orders import CANCELLED, DONE, Status
from pospay.wallets.tables import wallet_order, wallet_refund


@dataclass(frozen=True, slots=True)
class BillLine:
    """One line of a merchant's daily statement."""

    kind: str  # pay | revoke | refund | refund_undone
    at: datetime
    order_no: str
    trade_no: str
    refund_no: str
    amount: Money  # positive: to the merchant; negative: back to the payer


def bill_lines(
    connection: Connection, wallet: Wallet, merchant_id: str, day: date
) -> list[BillLine]:
    """The merchant's statement of `day` (UTC) at `wallet`, in time order."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    o, r = wallet_order.c, wallet_refund.c
    lines: list[BillLine] = []
    orders = connection.execute(
        select(wallet_order).where(
            o.wallet == wallet.value,
            o.merchant_id == merchant_id,
            o.paid_at.is_not(None),
        )
    ).all()
    for row in orders:
        money = Money(row.amount_minor, row.currency)
        if start <= row.paid_at < end:
            lines.append(BillLine("pay", row.paid_at, row.order_no, row.trade_no, "", money))
        if Status(row.status) is Status.REVOKED and start <= row.updated_at < end:
            left = Money(-(row.amount_minor - row.refunded_minor), row.currency)
            lines.append(BillLine("revoke", row.updated_at, row.order_no, row.trade_no, "", left))
    refunds = connection.execute(
        select(wallet_refund, o.order_no, o.trade_no, o.currency)
        .join(wallet_order, o.id == r.order_id)
        .where(r.wallet == wallet.value, r.merchant_id == merchant_id, r.amount_minor > 0)
    ).all()
    for row in refunds:
        money = Money(row.amount_minor, row.currency)
        names = (row.order_no, row.trade_no, row.refund_no)
        if row.status in (DONE, CANCELLED) and start <= row.created_at < end:
            lines.append(BillLine("refund", row.created_at, *names, -money))
        if row.status == CANCELLED and start <= row.updated_at < end:
            lines.append(BillLine("refund_undone", row.updated_at, *names, money))
    return sorted(lines, key=lambda line: (line.at, line.order_no, line.kind))


def movements(connection: Connection) -> dict[tuple[str, str], Money]:
    """The money standing at the wallets per (wallet, merchant's reference): each paid
    order, its whole amount (its refunds are references of their own, negative), and a
    revoked one what its refunds took; each refund made and not undone, negative."""
    o, r = wallet_order.c, wallet_refund.c
    standing: dict[tuple[str, str], Money] = {}
    for row in connection.execute(
        select(wallet_order).where(o.status.in_([Status.PAID.value, Status.REVOKED.value]))
    ):
        # A revoked order gave back what was left after its refunds, which stand.
        kept = row.amount_minor if row.status == Status.PAID.value else row.refunded_minor
        if kept:
            standing[(row.wallet, row.order_no)] = Money(kept, row.currency)
    refunds = connection.execute(
        select(r.wallet, r.refund_no, r.amount_minor, o.currency)
        .join(wallet_order, o.id == r.order_id)
        .where(r.status == DONE)
    )
    for row in refunds:
        standing[(row.wallet, row.refund_no)] = Money(-row.amount_minor, row.currency)
    return standing
