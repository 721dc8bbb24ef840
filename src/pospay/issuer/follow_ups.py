"""How the issuer moves money for every card transaction type beyond the sale.

A pre-authorisation sets money aside: it debits the card and credits the holds account
(credit-normal), so the card's available balance drops by the hold. A transfer debits
the source card and credits the target card; both must be on file.

The follow-ups name an earlier approval by its reference (`ORIGINAL_KIND` says which
kind each one names) and are guarded twice: the screen below refuses what can never
be allowed, and a conditional update of the original's ``undone_minor`` (see
`authorisations.take_undone`) refuses what an earlier follow-up already took, so two
racing voids, or refunds adding up to more than the sale, cannot both move money.

- void: the whole sale back to the card (settlement -> card, purpose ``void``);
- refund: part or all of what is left of the sale (settlement -> card, ``refund``);
- cancel: the whole hold back to the card (holds -> card, ``release``);
- completion: the hold back to the card, then the completed amount charged
  (card -> settlement, ``completion``); the amount may exceed the hold by the issuer's
  tolerance, and any excess needs balance, like a sale.

Everything runs in one savepoint: a refusal at any step leaves nothing behind.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from pospay.cards import pan_reference
from pospay.channels import CardAuthorisation, CardResult
from pospay.errors import InsufficientFunds
from pospay.iso8583.response_codes import APPROVED
from pospay.issuer.authorisations import StoredAuthorisation, find_authorisation, take_undone
from pospay.issuer.card_file import CardOnFile, card_account_id, card_on_file
from pospay.issuer.decision import Refusal, approval_code
from pospay.issuer.ledger import Purpose, balance, post_entry
from pospay.money import Money
from pospay.transaction import Kind
from pospay.transaction.follow_ups import ORIGINAL_KIND

HOLDS_ACCOUNT = "holds"  # what pre-authorisations set aside, credit-normal

# A completion may exceed its pre-authorisation by this much, in percent, by default.
COMPLETION_TOLERANCE_PERCENT = 15


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def card_movement(
    conn: Connection,
    request: CardAuthorisation,
    card: CardOnFile,
    pan_key: bytes,
    settlement: str,
) -> tuple[Purpose, str] | Refusal:
    """The purpose and the credited account of a sale, pre-authorisation or transfer
    (the card is debited), or why the request cannot move money."""
    if request.kind is Kind.PREAUTH:
        return Purpose.HOLD, HOLDS_ACCOUNT
    if request.kind is not Kind.TRANSFER:
        return Purpose.SALE, settlement
    target_pan = request.target_pan or ""
    target = card_on_file(conn, pan_reference(target_pan, pan_key)) if target_pan else None
    if target is None:
        return Refusal("14", "the transfer's target card is not on the issuer's file")
    if target.account_id == card.account_id:
        return Refusal("12", "a transfer needs two different cards")
    if target.status != "active":
        return Refusal("62", "the transfer's target card is restricted")
    if target.currency != request.amount.currency:
        return Refusal("13", f"the target card holds {target.currency}")
    return Purpose.TRANSFER, target.account_id


def answer_follow_up(
    conn: Connection,
    request: CardAuthorisation,
    *,
    settlement: str,
    pan_key: bytes,
    tolerance_percent: int,
    at: datetime,
) -> tuple[CardResult, int | None, StoredAuthorisation | None]:
    """Decide and move a void, refund, completion or cancel: the answer, the entry it
    posted last and the original it names (None when there is no such original)."""
    reference = request.reference
    original = (
        find_authorisation(conn, request.original_reference) if request.original_reference else None
    )
    try:
        _screen(request, original, tolerance_percent)
        assert original is not None and original.pan_ref is not None
        savepoint = conn.begin_nested()
        try:
            entry_id = _move(conn, request, original, settlement, at)
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
    except _Refused as refused:
        return (
            CardResult(reference, refused.refusal.code, None, None, refused.refusal.reason),
            (None),
            original,
        )
    except InsufficientFunds as refused:
        assert original is not None
        available = Money(refused.available, original.amount.currency)
        reason = f"insufficient funds: {available} available"
        return CardResult(reference, "51", None, None, reason), None, original
    available = balance(conn, card_account_id(original.pan_ref))
    reason = f"approved: {request.kind.value} of {request.amount} on {original.reference}"
    code = approval_code(reference, pan_key)
    return CardResult(reference, APPROVED, code, available, reason), entry_id, original


def undone_by(conn: Connection, follow_up: StoredAuthorisation) -> int:
    """How much of its original an approved follow-up counted as undone."""
    if follow_up.kind == Kind.PREAUTH_COMPLETION.value and follow_up.original_reference:
        original = find_authorisation(conn, follow_up.original_reference)
        return 0 if original is None else original.amount.minor
    return follow_up.amount.minor


def _screen(
    request: CardAuthorisation, original: StoredAuthorisation | None, tolerance_percent: int
) -> None:
    kind, amount = request.kind, request.amount
    wanted = ORIGINAL_KIND[kind]
    if original is None or original.kind != wanted.value or original.pan_ref is None:
        raise _Refused(
            Refusal("25", f"no {wanted.value} with reference {request.original_reference}")
        )
    if original.state != "approved":
        raise _Refused(Refusal("12", f"the {wanted.value} is {original.state}"))
    if kind is not Kind.REFUND and original.undone:
        # Voided, completed, cancelled or partly refunded: 12 whatever the amount says.
        # (`take_undone` checks again in the unit that moves the money: races end here.)
        done = "voided or refunded" if kind is Kind.VOID else "completed or cancelled"
        raise _Refused(Refusal("12", f"the original was already {done}"))
    if amount.currency != original.amount.currency:
        raise _Refused(Refusal("13", f"the original is in {original.amount.currency}"))
    if kind in (Kind.VOID, Kind.PREAUTH_CANCEL) and amount != original.amount:
        raise _Refused(Refusal("13", f"{amount} differs from the original's {original.amount}"))
    if amount.minor <= 0:
        raise _Refused(Refusal("13", f"a {kind.value} needs a positive amount"))
    if kind is Kind.PREAUTH_COMPLETION:
        limit = original.amount.minor * (100 + tolerance_percent) // 100
        if amount.minor > limit:
            allowed = Money(limit, amount.currency)
            raise _Refused(
                Refusal(
                    "61",
                    f"completion of {amount} above the {allowed} allowed "
                    f"(pre-authorised {original.amount} + {tolerance_percent}%)",
                )
            )


def _move(
    conn: Connection,
    request: CardAuthorisation,
    original: StoredAuthorisation,
    settlement: str,
    at: datetime,
) -> int | None:
    assert original.pan_ref is not None
    card = card_account_id(original.pan_ref)
    kind, amount, reference = request.kind, request.amount, request.reference
    if kind is Kind.REFUND:
        if not take_undone(conn, original.reference, amount.minor, whole=False):
            left = Money(original.amount.minor - original.undone, amount.currency)
            raise _Refused(Refusal("13", f"refund of {amount} above the {left} left to refund"))
        return post_entry(
            conn,
            reference=reference,
            purpose=Purpose.REFUND,
            amount=amount,
            debit=settlement,
            credit=card,
            at=at,
        )
    if not take_undone(conn, original.reference, original.amount.minor, whole=True):
        done = "voided or refunded" if kind is Kind.VOID else "completed or cancelled"
        raise _Refused(Refusal("12", f"the original was already {done}"))
    if kind is Kind.VOID:
        return post_entry(
            conn,
            reference=reference,
            purpose=Purpose.VOID,
            amount=amount,
            debit=settlement,
            credit=card,
            at=at,
        )
    released = post_entry(
        conn,
        reference=reference,
        purpose=Purpose.RELEASE,
        amount=original.amount,
        debit=HOLDS_ACCOUNT,
        credit=card,
        at=at,
    )
    if kind is Kind.PREAUTH_CANCEL:
        return released
    return post_entry(
        conn,
        reference=reference,
        purpose=Purpose.COMPLETION,
        amount=amount,
        debit=card,
        credit=settlement,
        at=at,
    )
