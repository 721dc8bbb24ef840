"""The issuer's card file: which cards it knows, found by keyed reference, never by PAN.

A card account's id is derived from the card's `pan_reference`, so neither the id
nor any other column lets the PAN be recovered without the issuer's key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update

from pospay.cards import mask_merchant, pan_reference
from pospay.issuer.ledger import Account, AccountKind, NormalSide
from pospay.issuer.tables import issuer_account
from pospay.issuer.test_cards import TestCard


@dataclass(frozen=True, slots=True)
class CardOnFile:
    """What the issuer holds about one card, enough to decide an authorisation."""

    account_id: str
    expiry: str  # YYMM
    status: str  # active | restricted
    currency: str
    # The PAN sequence number (2 digits) whose chip key the card's ARQCs are made under;
    # None only for a card opened before the issuer kept it and not installed since.
    card_sequence: str | None = None


def card_account_id(pan_ref: str) -> str:
    """The ledger account id of the card whose reference is `pan_ref`."""
    return f"card:{pan_ref}"


def card_account(card: TestCard, pan_key: bytes) -> Account:
    """The account to open for a test card: credit-normal, in its opening balance's currency."""
    pan_ref = pan_reference(card.pan, pan_key)
    return Account(
        account_id=card_account_id(pan_ref),
        kind=AccountKind.CARD,
        normal_side=NormalSide.CREDIT,
        currency=card.opening_balance.currency,
        status=card.status,
        pan_ref=pan_ref,
        pan_masked=mask_merchant(card.pan),
        brand=card.brand.value,
        expiry=card.expiry,
        holder_name=card.holder,
        card_sequence=card.psn,
    )


def record_card_sequence(conn: Connection, card: TestCard, pan_key: bytes) -> None:
    """Give the account of `card` its PSN if it has none yet (opened before the issuer
    kept it); a PSN on file is never changed."""
    t = issuer_account.c
    conn.execute(
        update(issuer_account)
        .where(t.pan_ref == pan_reference(card.pan, pan_key), t.card_sequence.is_(None))
        .values(card_sequence=card.psn)
    )


_BY_PAN_REF = select(
    issuer_account.c.account_id,
    issuer_account.c.expiry,
    issuer_account.c.status,
    issuer_account.c.currency,
    issuer_account.c.card_sequence,
).where(issuer_account.c.pan_ref == bindparam("pan_ref"))


def card_on_file(conn: Connection, pan_ref: str) -> CardOnFile | None:
    """The card with reference `pan_ref`, or None if the issuer never issued it."""
    row = conn.execute(_BY_PAN_REF, {"pan_ref": pan_ref}).one_or_none()
    if row is None:
        return None
    return CardOnFile(row.account_id, row.expiry, row.status, row.currency, row.card_sequence)
