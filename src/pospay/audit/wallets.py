"""The wallets' side of the audit: the money standing at each wallet, by the host's RRN,
and whether every payer's balance is what its payments and refunds say.

The host names a QR sale `PP<rrn>` and a void or refund of one `PR<rrn>` at the wallet
(`host.wallet_routing`), so the wallet's standing money (`wallets.statements.movements`) joins
the issuer's under the same keys, and `check_agreement` compares both with the host
journal in one pass.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, select

from pospay.audit.findings import Finding
from pospay.money import Money
from pospay.wallets.orders import Status
from pospay.wallets.statements import movements
from pospay.wallets.tables import wallet_order, wallet_payer, wallet_refund


def wallet_movements(connection: Connection) -> dict[str, Money]:
    """The standing money of every host reference at the wallets, by RRN. A void (refund
    number `PV…`) takes its sale out and stands for nothing itself, as at the issuer."""
    standing = dict(movements(connection))
    o, r = wallet_order.c, wallet_refund.c
    voids = connection.execute(
        select(r.wallet, r.refund_no, o.order_no)
        .join(wallet_order, o.id == r.order_id)
        .where(r.status == "done", r.refund_no.like("PV%"))
    )
    for void in voids:
        standing.pop((void.wallet, void.refund_no), None)
        standing.pop((void.wallet, void.order_no), None)
    return {reference[2:]: money for (_, reference), money in standing.items()}


def wallet_ledger_findings(connection: Connection) -> list[Finding]:
    """Payers whose balance is not their opening balance less what they paid and were
    given back (a negative balance cannot exist: the database refuses it)."""
    spent: dict[str, int] = defaultdict(int)
    o, r = wallet_order.c, wallet_refund.c
    for row in connection.execute(
        select(o.payer_id, o.amount_minor, o.refunded_minor, o.status).where(
            o.status.in_([Status.PAID.value, Status.REVOKED.value])
        )
    ):
        kept = row.amount_minor if row.status == Status.PAID.value else row.refunded_minor
        spent[row.payer_id] += kept
    for refund in connection.execute(
        select(o.payer_id, r.amount_minor)
        .join(wallet_order, o.id == r.order_id)
        .where(r.status == "done")
    ):
        spent[refund.payer_id] -= refund.amount_minor
    findings = []
    for payer in connection.execute(select(wallet_payer)):
        expected = payer.opening_minor - spent.get(payer.payer_id, 0)
        if payer.balance_minor != expected:
            findings.append(
                Finding(
                    "ledger",
                    payer.payer_id,
                    f"wallet balance {payer.balance_minor}, its payments say {expected}",
                )
            )
    return findings
