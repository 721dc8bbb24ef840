"""The order book's rows: orders and refunds found by their merchant's number or by id,
and the payer balances money moves between.

Every function works inside the caller's unit (`storage.Committer`); none commits. A
debit is conditional, so no payer's balance ever goes below zero.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Table, select, update

from pospay.qr.customer_codes import Wallet
from pospay.wallets.tables import wallet_order, wallet_payer, wallet_refund


def find_order(
    connection: Connection, wallet: Wallet, merchant_id: str, order_no: str
) -> Row[Any] | None:
    """The merchant's order `order_no` at `wallet`, if the wallet has seen it."""
    return _by_number(connection, wallet_order, "order_no", wallet, merchant_id, order_no)


def find_refund(
    connection: Connection, wallet: Wallet, merchant_id: str, refund_no: str
) -> Row[Any] | None:
    """The merchant's refund `refund_no` at `wallet`, if the wallet has seen it."""
    return _by_number(connection, wallet_refund, "refund_no", wallet, merchant_id, refund_no)


def order_row(connection: Connection, order_id: int) -> Row[Any]:
    return connection.execute(select(wallet_order).where(wallet_order.c.id == order_id)).one()


def refund_row(connection: Connection, refund_id: int) -> Row[Any]:
    return connection.execute(select(wallet_refund).where(wallet_refund.c.id == refund_id)).one()


def debit(connection: Connection, payer_id: str, minor: int) -> bool:
    """Take `minor` from the payer's balance; False, and nothing taken, if it is too low."""
    p = wallet_payer.c
    changed = connection.execute(
        update(wallet_payer)
        .where(p.payer_id == payer_id, p.balance_minor >= minor)
        .values(balance_minor=p.balance_minor - minor)
    ).rowcount
    return bool(changed)


def credit(connection: Connection, payer_id: str, minor: int) -> None:
    """Give `minor` back to the payer's balance."""
    p = wallet_payer.c
    connection.execute(
        update(wallet_payer)
        .where(p.payer_id == payer_id)
        .values(balance_minor=p.balance_minor + minor)
    )


def _by_number(
    connection: Connection, table: Table, column: str, wallet: Wallet, merchant_id: str, number: str
) -> Row[Any] | None:
    t = table.c
    return connection.execute(
        select(table).where(
            t.wallet == wallet.value, t.merchant_id == merchant_id, t[column] == number
        )
    ).first()
