"""The end of a card's validity: the expiry job.

A card is valid to the end of its expiry month; from the next month every operation
on it but a balance inquiry declines 54 (`rules`). The job (`pospay prepaid expire`)
then closes the books on it: what the card still holds moves to the programme's
``expired`` account (one entry per card, purpose ``expiry``, so running the job again
moves nothing more) and the card's status becomes 'expired'. Each card is locked as any
operation locks it, so the job can run while hosts serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from pospay.money import Money
from pospay.prepaid import books, cards
from pospay.prepaid.tables import prepaid_account


@dataclass(frozen=True, slots=True)
class Expired:
    """A card the job expired, and the balance it moved to the expired account."""

    pan_masked: str
    expiry: str
    balance: Money


def expire_cards(conn: Connection, now: datetime) -> list[Expired]:
    """Expire every card whose expiry month has ended by `now`; the cards expired."""
    a = prepaid_account.c
    this_month = now.strftime("%y%m")
    due = conn.execute(
        select(a.account_id)
        .where(
            a.kind == "card",
            a.expiry < this_month,
            a.status.in_(["issued", "active", "frozen"]),
        )
        .order_by(a.account_id)
    ).scalars()
    expired = []
    for account_id in list(due):
        card = cards.lock_card(conn, account_id)
        if card is None or card.status not in ("issued", "active", "frozen"):
            continue  # expired or closed by another run meanwhile
        if card.balance.minor:
            currency = card.balance.currency
            books.open_programme_account(conn, books.EXPIRED_ACCOUNT, currency, now)
            books.post(
                conn,
                reference=f"expiry:{account_id}",
                purpose="expiry",
                amount=card.balance,
                debit=account_id,
                credit=books.EXPIRED_ACCOUNT,
                at=now,
            )
        cards.change_status(conn, account_id, "expire", card.status)
        expired.append(Expired(card.pan_masked, card.expiry, card.balance))
    return expired
