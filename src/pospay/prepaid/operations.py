"""Deciding and carrying out one request to the programme, inside one unit of work.

`answer_request` is the whole of an authorisation: the stored answer for a reference
seen before (idempotency), else the card locked (`cards.lock_card`), the rules
(`rules`), the PIN, then the operation itself — a status change, an entry
(`books.post`), the day's spending counted — and the answer stored, all in the
caller's transaction, so that the answer is durable together with what it did.

A refund names the payment it gives back (`original_reference`), finds the card
through it, and raises the payment's ``undone_minor`` by a conditional update, so two
racing refunds cannot give back more than was paid. A top-up by card sale names the
sale that paid for it; a sale funds one top-up at most (a unique key), and a prepaid
payment cannot fund one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from pospay.cards import mask_merchant, pan_reference
from pospay.channels import CardAuthorisation, CardResult
from pospay.errors import InsufficientFunds
from pospay.iso8583.response_codes import APPROVED
from pospay.issuer.decision import Refusal, approval_code
from pospay.issuer.pins import PIN_TRIES_LIMIT, PinKeys
from pospay.money import Money
from pospay.prepaid import answers, books, cards
from pospay.prepaid.answers import Answer, StoredAnswer
from pospay.prepaid.programme import Programme
from pospay.prepaid.rules import (
    NEEDS_STATUS,
    Operation,
    card_refusal,
    issue_refusal,
    limit_refusal,
)
from pospay.prepaid.tables import prepaid_operation
from pospay.security.pin import pin_offset_of_block
from pospay.transaction import Kind

# What the programme does: its own operations, and a payment, refund and inquiry.
SUPPORTED = frozenset({Kind.PREPAID_ISSUE, *NEEDS_STATUS})
# Status changes by operation (see `cards.STATUS_CHANGES`).
STATUS_OPERATIONS: dict[Kind, str] = {
    Kind.PREPAID_ACTIVATE: "activate",
    Kind.PREPAID_FREEZE: "freeze",
    Kind.PREPAID_UNFREEZE: "unfreeze",
}
# Entries by operation: its purpose, and the kind of shop account on the other side.
ENTRIES: dict[Kind, tuple[str, str]] = {
    Kind.PREPAID_TOP_UP: ("top_up", "cash"),
    Kind.PREPAID_CARD_TOP_UP: ("card_top_up", "card_sales"),
    Kind.SALE: ("pay", "merchant"),
    Kind.REFUND: ("refund", "merchant"),
}


@dataclass(frozen=True, slots=True)
class Desk:
    """What every unit needs to know: the programme and its keys."""

    programme: Programme
    pan_key: bytes = field(repr=False)
    pin_keys: PinKeys = field(default_factory=PinKeys)
    pin_tries: int = PIN_TRIES_LIMIT


class _Declined(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def answer_request(
    conn: Connection, desk: Desk, request: CardAuthorisation, now: datetime
) -> CardResult:
    """The programme's answer to `request`; a repeated reference gets the first answer."""
    stored = answers.find_answer(conn, request.reference)
    if stored is not None:
        return stored.result()
    if request.kind not in SUPPORTED:
        unsupported = Refusal("12", f"the prepaid programme does not do {request.kind.value}")
        record = Answer(request.kind, None, None, request.merchant_id, request.amount)
        return _store(conn, record, _declined(request.reference, unsupported), now)
    if request.kind is Kind.REFUND:
        return _refund(conn, desk, request, now)
    pan_ref = pan_reference(request.pan, desk.pan_key)
    account_id = cards.card_account_id(pan_ref)
    record = Answer(
        kind=request.kind,
        account_id=account_id,
        pan_masked=mask_merchant(request.pan),
        merchant_id=request.merchant_id,
        amount=request.amount,
    )
    if request.icc_data is not None:
        chip = Refusal("12", "a prepaid card has no chip: read its stripe or key it in")
        return _store(conn, record, _declined(request.reference, chip), now)
    if request.kind is Kind.PREPAID_ISSUE:
        return _issue(conn, desk, request, record, pan_ref, now)
    card = cards.lock_card(conn, account_id)
    funding = _funding_refusal(conn, request) if request.kind is Kind.PREPAID_CARD_TOP_UP else None
    operation = Operation(request.kind, request.amount, request.expiry, request.at, funding)
    try:
        refusal = card_refusal(operation, card)
        if refusal is not None:
            raise _Declined(refusal)
        assert card is not None
        _check_pin(conn, desk, request, card)
        refusal = limit_refusal(operation, card)
        if refusal is not None:
            raise _Declined(refusal)
        with conn.begin_nested():  # a refusal from here on leaves nothing of the operation
            record = _carry_out(conn, desk, request, record, card, now)
    except _Declined as declined:
        return _store(conn, record, _declined(request.reference, declined.refusal), now)
    return _store(conn, record, _approved(conn, desk, request, account_id), now)


def _issue(
    conn: Connection,
    desk: Desk,
    request: CardAuthorisation,
    record: Answer,
    pan_ref: str,
    now: datetime,
) -> CardResult:
    """Register a blank card: a new account, status 'issued', with the programme's limits."""
    programme = desk.programme
    refusal = issue_refusal(programme, request.pan, request.expiry, request.at)
    if refusal is None and cards.find_card(conn, record.account_id or "") is not None:
        refusal = Refusal("12", "the card is issued already")
    if refusal is None and request.amount.currency != programme.currency:
        refusal = Refusal("13", f"the programme's cards hold {programme.currency}")
    offset = None
    if refusal is None and request.pin_block is not None:
        keys = desk.pin_keys
        offset = pin_offset_of_block(
            request.pin_block,
            request.pan,
            keys.zone_pin_key,
            keys.verification_key,
            keys.decimalisation_table,
        )
        if offset is None:
            refusal = Refusal("55", "the PIN block does not hold a PIN for this card")
    if refusal is None and not cards.open_card(
        conn,
        account_id=record.account_id or "",
        pan_ref=pan_ref,
        pan_masked=record.pan_masked or "",
        expiry=request.expiry,
        max_balance=programme.max_balance,
        daily_spend=programme.daily_spend,
        pin_offset=offset,
        at=now,
    ):
        refusal = Refusal("12", "the card is issued already")
    if refusal is not None:
        return _store(conn, record, _declined(request.reference, refusal), now)
    issued = dataclasses.replace(record, status_before="new")
    return _store(conn, issued, _approved(conn, desk, request, record.account_id or ""), now)


def _refund(conn: Connection, desk: Desk, request: CardAuthorisation, now: datetime) -> CardResult:
    """Give back (part of) the payment `request.original_reference` to its card."""
    original = (
        answers.find_answer(conn, request.original_reference)
        if request.original_reference
        else None
    )
    record = Answer(
        kind=Kind.REFUND,
        account_id=None if original is None else original.account_id,
        pan_masked=None,
        merchant_id=request.merchant_id,
        amount=request.amount,
        original_reference=request.original_reference,
    )
    try:
        payment = _refundable(original, request)
        card = cards.lock_card(conn, payment.account_id or "")
        operation = Operation(Kind.REFUND, request.amount, "", request.at)
        refusal = card_refusal(operation, card)
        if refusal is not None:
            raise _Declined(refusal)
        assert card is not None
        with conn.begin_nested():
            if not answers.take_undone(conn, payment.reference, request.amount.minor):
                left = Money(payment.amount.minor - payment.undone, request.amount.currency)
                raise _Declined(Refusal("13", f"refund of {request.amount} above the {left} left"))
            refusal = limit_refusal(operation, card)
            if refusal is not None:
                raise _Declined(refusal)
            record = _carry_out(conn, desk, request, record, card, now)
    except _Declined as declined:
        return _store(conn, record, _declined(request.reference, declined.refusal), now)
    account_id = record.account_id or ""
    return _store(conn, record, _approved(conn, desk, request, account_id), now)


def _refundable(original: StoredAnswer | None, request: CardAuthorisation) -> StoredAnswer:
    if original is None or original.kind != Kind.SALE.value or original.account_id is None:
        reference = request.original_reference
        raise _Declined(Refusal("25", f"no prepaid payment with reference {reference}"))
    if original.state != "approved":
        raise _Declined(Refusal("12", f"the payment is {original.state}"))
    if original.merchant_id != request.merchant_id:
        raise _Declined(Refusal("25", "the payment was made at another merchant"))
    if request.amount.currency != original.amount.currency or request.amount.minor <= 0:
        raise _Declined(
            Refusal("13", f"a refund is a positive amount in {original.amount.currency}")
        )
    return original


def _check_pin(
    conn: Connection, desk: Desk, request: CardAuthorisation, card: cards.PrepaidCard
) -> None:
    """A PIN sent is checked (a wrong one counts); a payment from a card with a PIN needs it."""
    if request.pin_block is not None:
        refused = cards.pin_refusal(
            conn, card, request.pan, request.pin_block, desk.pin_keys, desk.pin_tries
        )
        if refused is not None:
            raise _Declined(Refusal(*refused))
    elif request.kind is Kind.SALE and card.pin_offset is not None:
        raise _Declined(Refusal("55", "the card has a PIN: a payment needs it"))


def _carry_out(
    conn: Connection,
    desk: Desk,
    request: CardAuthorisation,
    record: Answer,
    card: cards.PrepaidCard,
    now: datetime,
) -> Answer:
    """Do what a screened `request` asks on `card`; the record of what was done."""
    kind = request.kind
    if kind in STATUS_OPERATIONS:
        cards.change_status(conn, card.account_id, STATUS_OPERATIONS[kind], card.status)
        return dataclasses.replace(record, status_before=card.status)
    if kind not in ENTRIES:
        return record  # a balance inquiry moves nothing
    purpose, shop_kind = ENTRIES[kind]
    merchant = request.merchant_id
    record = dataclasses.replace(record, merchant_id=merchant)
    if kind is Kind.PREPAID_CARD_TOP_UP:
        # `_funding_refusal` found nothing against it: the programme's unique key on the
        # funding reference settles a race between two top-ups paid by one sale.
        record = dataclasses.replace(record, funding_reference=request.original_reference)
    shop = books.merchant_account(shop_kind, merchant)
    books.open_programme_account(conn, shop, request.amount.currency, now)
    debit, credit = (card.account_id, shop) if kind is Kind.SALE else (shop, card.account_id)
    if kind is Kind.SALE:
        day = request.at.strftime("%Y%m%d")
        if not cards.spend(conn, card.account_id, day, request.amount, card.daily_spend):
            spent = Money(cards.spent_on(conn, card.account_id, day), request.amount.currency)
            raise _Declined(
                Refusal(
                    "61",
                    f"{request.amount} would pass the card's daily limit of {card.daily_spend} "
                    f"({spent} paid today)",
                )
            )
        record = dataclasses.replace(record, spend_day=day)
    try:
        books.post(
            conn,
            reference=request.reference,
            purpose=purpose,
            amount=request.amount,
            debit=debit,
            credit=credit,
            at=now,
        )
    except InsufficientFunds as refused:
        available = Money(refused.available, request.amount.currency)
        raise _Declined(Refusal("51", f"insufficient funds: {available} available")) from None
    return record


def _funding_refusal(conn: Connection, request: CardAuthorisation) -> Refusal | None:
    """Why the card sale named by a top-up cannot pay for it (it is a prepaid payment, or
    paid for a top-up already), or None."""
    funding = request.original_reference
    if not funding:
        return Refusal("30", "a top-up by card names its card sale in field 37")
    if answers.find_answer(conn, funding) is not None:
        return Refusal("12", "a prepaid payment cannot pay for a top-up")
    o = prepaid_operation.c
    used = conn.execute(select(o.reference).where(o.funding_reference == funding)).first()
    if used is not None:
        return Refusal("12", f"the card sale {funding} paid for a top-up already")
    return None


def _approved(
    conn: Connection, desk: Desk, request: CardAuthorisation, account_id: str
) -> CardResult:
    available = books.balance(conn, account_id)
    code = approval_code(request.reference, desk.pan_key)
    reason = f"approved: {request.kind.value}"
    if request.kind.moves_money:
        reason += f" of {request.amount}"
    return CardResult(request.reference, APPROVED, code, available, reason)


def _declined(reference: str, refusal: Refusal) -> CardResult:
    return CardResult(reference, refusal.code, None, None, refusal.reason)


def _store(conn: Connection, record: Answer, result: CardResult, now: datetime) -> CardResult:
    if result.response_code != APPROVED:
        # What a declined request would have done is not recorded: only its answer.
        record = dataclasses.replace(
            record, funding_reference=None, status_before=None, spend_day=None
        )
    answers.record_answer(conn, record, result, now)
    return result
