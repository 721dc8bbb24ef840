"""The programme's card file: each card is its own ledger account, found by keyed reference.

A card's account id is derived from the card's `pan_reference` under the programme's
key, so no column lets the PAN be recovered without that key. Every operation on a
card starts by locking the card's row (`lock_card`, ``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite serialises writers anyway), so that what an operation checks
(status, limits, the balance against the maximum, wrong PINs) cannot change under it
before it commits, whichever host process runs it. Taking the card's lock first, and
only then the accounts the entry touches, is also the order every unit follows, so
two units never wait for each other in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from pospay import ledger
from pospay.errors import IllegalTransition
from pospay.issuer.pins import PinKeys
from pospay.ledger import NormalSide
from pospay.money import Money
from pospay.prepaid.tables import PREPAID_BOOKS, prepaid_account, prepaid_daily_spend
from pospay.security.pin import pin_offset_of_block

# The card life cycle: which operation may move a card from which status to which.
STATUS_CHANGES: dict[tuple[str, str], str] = {
    ("issue", "new"): "issued",
    ("activate", "issued"): "active",
    ("freeze", "active"): "frozen",
    ("unfreeze", "frozen"): "active",
    ("expire", "issued"): "expired",
    ("expire", "active"): "expired",
    ("expire", "frozen"): "expired",
}


@dataclass(frozen=True, slots=True)
class PrepaidCard:
    """What the programme holds about one card, enough to decide an operation."""

    account_id: str
    pan_masked: str
    expiry: str  # YYMM
    status: str
    balance: Money
    max_balance: Money
    daily_spend: Money
    pin_offset: str | None
    wrong_pin_tries: int


def card_account_id(pan_ref: str) -> str:
    """The ledger account id of the card whose keyed reference is `pan_ref`."""
    return f"card:{pan_ref}"


# Built once (`storage.prepared`): every operation on a card starts here.
_CARD = select(prepaid_account).where(
    prepaid_account.c.account_id == bindparam("b_account"), prepaid_account.c.kind == "card"
)
_LOCKED_CARD = _CARD.with_for_update()


def lock_card(conn: Connection, account_id: str) -> PrepaidCard | None:
    """The card `account_id`, locked for the rest of the unit; None if never issued."""
    row = conn.execute(_LOCKED_CARD, {"b_account": account_id}).one_or_none()
    return None if row is None else _card(row)


def find_card(conn: Connection, account_id: str) -> PrepaidCard | None:
    """The card `account_id`, read without a lock (statements, reports)."""
    row = conn.execute(_CARD, {"b_account": account_id}).one_or_none()
    return None if row is None else _card(row)


def open_card(
    conn: Connection,
    *,
    account_id: str,
    pan_ref: str,
    pan_masked: str,
    expiry: str,
    max_balance: Money,
    daily_spend: Money,
    pin_offset: str | None,
    at: datetime,
) -> bool:
    """Open the card's account, status 'issued', zero balance; False if the card exists."""
    return ledger.open_account(
        conn,
        PREPAID_BOOKS,
        {
            "account_id": account_id,
            "kind": "card",
            "normal_side": NormalSide.CREDIT.value,
            "currency": max_balance.currency,
            "status": STATUS_CHANGES[("issue", "new")],
            "pan_ref": pan_ref,
            "pan_masked": pan_masked,
            "expiry": expiry,
            "max_balance_minor": max_balance.minor,
            "daily_spend_minor": daily_spend.minor,
            "pin_offset": pin_offset,
            "opened_at": at,
        },
    )


def change_status(conn: Connection, account_id: str, change: str, current: str) -> str:
    """Apply the status change `change` to a card now in `current`; the new status.
    Raises `IllegalTransition` for a change the life cycle does not allow."""
    new = STATUS_CHANGES.get((change, current))
    if new is None:
        raise IllegalTransition(current, change)
    set_status(conn, account_id, new)
    return new


def set_limits(conn: Connection, account_id: str, max_balance: Money, daily_spend: Money) -> bool:
    """Give the card its own limits (under its lock, as any operation); False if no card.
    A maximum below what the card holds refuses further credits and takes nothing away."""
    if lock_card(conn, account_id) is None:
        return False
    a = prepaid_account.c
    conn.execute(
        update(prepaid_account)
        .where(a.account_id == account_id)
        .values(max_balance_minor=max_balance.minor, daily_spend_minor=daily_spend.minor)
    )
    return True


def set_status(conn: Connection, account_id: str, status: str) -> None:
    a = prepaid_account.c
    conn.execute(update(prepaid_account).where(a.account_id == account_id).values(status=status))


def pin_refusal(
    conn: Connection,
    card: PrepaidCard,
    pan: str,
    pin_block: bytes,
    keys: PinKeys,
    tries_limit: int,
) -> tuple[str, str] | None:
    """None if the PIN in `pin_block` (under the zone PIN key) is the card's; otherwise the
    response code and reason, the wrong try counted in the caller's unit."""
    if card.pin_offset is None:
        return "55", "the card has no PIN"
    if card.wrong_pin_tries >= tries_limit:
        return "75", f"{card.wrong_pin_tries} wrong PINs: PIN tries exceeded"
    offset = pin_offset_of_block(
        pin_block, pan, keys.zone_pin_key, keys.verification_key, keys.decimalisation_table
    )
    right = offset is not None and offset == card.pin_offset
    tries = 0 if right else card.wrong_pin_tries + 1
    if tries != card.wrong_pin_tries:
        a = prepaid_account.c
        conn.execute(
            update(prepaid_account)
            .where(a.account_id == card.account_id)
            .values(wrong_pin_tries=tries)
        )
    if right:
        return None
    if tries >= tries_limit:
        return "75", f"wrong PIN, {tries} in a row: PIN tries exceeded"
    return "55", f"wrong PIN ({tries} of {tries_limit} tries)"


def spend(conn: Connection, account_id: str, day: str, amount: Money, limit: Money) -> bool:
    """Count `amount` against the card's spending of `day`; False, counting nothing, when
    it would pass `limit`. A conditional update: concurrent payments cannot both pass."""
    d = prepaid_daily_spend.c
    conn.execute(
        ledger.insert_unless_exists(
            conn, prepaid_daily_spend, {"account_id": account_id, "day": day, "spent_minor": 0}
        )
    )
    change = (
        update(prepaid_daily_spend)
        .where(
            d.account_id == account_id,
            d.day == day,
            d.spent_minor + amount.minor <= limit.minor,
        )
        .values(spent_minor=d.spent_minor + amount.minor)
    )
    return conn.execute(change).rowcount == 1


def unspend(conn: Connection, account_id: str, day: str, amount: Money) -> None:
    """A payment of `day` was reversed: it no longer counts against that day's limit."""
    d = prepaid_daily_spend.c
    conn.execute(
        update(prepaid_daily_spend)
        .where(d.account_id == account_id, d.day == day, d.spent_minor >= amount.minor)
        .values(spent_minor=d.spent_minor - amount.minor)
    )


def spent_on(conn: Connection, account_id: str, day: str) -> int:
    d = prepaid_daily_spend.c
    query = select(d.spent_minor).where(d.account_id == account_id, d.day == day)
    return int(conn.execute(query).scalar_one_or_none() or 0)


def _card(row: Row[Any]) -> PrepaidCard:
    return PrepaidCard(
        account_id=row.account_id,
        pan_masked=row.pan_masked,
        expiry=row.expiry,
        status=row.status,
        balance=Money(int(row.balance_minor), row.currency),
        max_balance=Money(int(row.max_balance_minor), row.currency),
        daily_spend=Money(int(row.daily_spend_minor), row.currency),
        pin_offset=row.pin_offset,
        wrong_pin_tries=int(row.wrong_pin_tries),
    )
