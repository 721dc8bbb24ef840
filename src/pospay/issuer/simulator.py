"""The card issuer simulator: a `CardChannel` backed by a real double-entry ledger.

Each request is one unit of work handed to the `GroupCommitter`: look up the stored
answer for the reference (idempotency), decide (`decision.screen`), move the money
(`ledger.post_entry`) and store the answer, all in one transaction, so the answer is
durable together with the money before it is returned.

On PostgreSQL with several processes two units may race for the same reference; the
loser's insert violates a unique key, its unit is rolled back, and running it again
finds and returns the winner's answer (see `_run`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from sqlalchemy import Connection

from pospay.cards import mask_merchant, pan_reference
from pospay.channels import CardAuthorisation, CardResult
from pospay.clock import Clock
from pospay.errors import AnswerLost, InsufficientFunds
from pospay.iso8583.response_codes import APPROVED
from pospay.issuer.authorisations import (
    find_authorisation,
    give_back_undone,
    mark_reversed,
    record_authorisation,
    record_tombstone,
)
from pospay.issuer.card_file import (
    CardOnFile,
    card_account,
    card_account_id,
    card_on_file,
    record_card_sequence,
)
from pospay.issuer.decision import ANSWER_LOST, Refusal, approval_code, magic_code, screen
from pospay.issuer.follow_ups import (
    COMPLETION_TOLERANCE_PERCENT,
    HOLDS_ACCOUNT,
    answer_follow_up,
    card_movement,
    undone_by,
)
from pospay.issuer.icc import authentication_data, needs_arqc, verify_arqc
from pospay.issuer.ledger import (
    Account,
    AccountKind,
    NormalSide,
    Purpose,
    balance,
    open_account,
    post_entry,
    reverse_entries,
)
from pospay.issuer.pins import PinKeys, install_pin, verify_pin
from pospay.issuer.test_cards import TEST_CARDS, TestCard
from pospay.money import Money
from pospay.security.test_keys import TEST_IMK_AC
from pospay.storage import Committer
from pospay.storage.races import run_retrying
from pospay.transaction import Kind
from pospay.transaction.follow_ups import ORIGINAL_KIND

SETTLEMENT_ACCOUNT = "settlement"  # the acquirer's settlement account, credit-normal
FUNDING_ACCOUNT = "funding"  # the issuer's cash that funds the test cards, debit-normal

log = logging.getLogger(__name__)
T = TypeVar("T")


class IssuerSimulator:
    """An issuer with accounts, test cards and magic amounts; implements `CardChannel`."""

    def __init__(
        self,
        committer: Committer,
        clock: Clock,
        pan_key: bytes,
        currency: str = "CNY",
        pin_keys: PinKeys | None = None,
        completion_tolerance_percent: int = COMPLETION_TOLERANCE_PERCENT,
        imk_ac: bytes = TEST_IMK_AC,
        cards: Sequence[TestCard] = TEST_CARDS,
    ) -> None:
        self._committer = committer
        self._clock = clock
        self._pan_key = pan_key
        self._currency = Money(0, currency).currency
        self._pin_keys = pin_keys or PinKeys()
        # How far a pre-authorisation completion may exceed its hold, in percent.
        self._tolerance = completion_tolerance_percent
        # The issuer master key for application cryptograms (`issuer.icc`).
        self._imk_ac = imk_ac
        # The cards `install_test_cards` opens: the documented ones unless told otherwise.
        self._cards = tuple(cards)

    async def install_test_cards(self) -> None:
        """Open the settlement, funding and test card accounts and fund the cards, once."""
        await self._run(self._install)

    async def authorise(self, request: CardAuthorisation) -> CardResult:
        """Decide `request`; a repeated reference gets the first answer and moves nothing.

        A sale of the magic amount 666.91 that passes the card checks is decided and
        stored like any other (approved and debited, or declined 51), and then its
        answer is lost: `AnswerLost` is raised, as the caller's own timeout would end its
        wait. `query` and `reverse` find it as for any reference.
        """
        result, lost = await self._run(lambda conn: self._authorise(conn, request))
        log.info("authorisation %s: %s", result.reference, result.response_code)
        if lost:
            raise AnswerLost(f"the answer to {result.reference} was lost (magic amount 666.91)")
        return result

    # --- After the answer: reversal and status query -----------------------------------

    async def reverse(self, reference: str) -> CardResult:
        """Undo whatever `reference` moved; idempotent, and answered "00" once nothing is moved.

        A reversal for a reference never seen leaves a record behind, so that an
        authorisation arriving late with that reference is refused (25) and moves nothing.
        """
        result = await self._run(lambda conn: self._reverse(conn, reference))
        log.info("reversal %s: %s", reference, result.response_code)
        return result

    async def query(self, reference: str) -> CardResult | None:
        """The answer stored for `reference`, or None if the issuer never saw it."""
        stored = await self._committer.read(lambda conn: find_authorisation(conn, reference))
        return None if stored is None else stored.result()

    # --- Units of work: each runs inside one group-commit transaction -----------------

    def _install(self, conn: Connection) -> None:
        now = self._clock.now()
        open_account(
            conn,
            Account(SETTLEMENT_ACCOUNT, AccountKind.SETTLEMENT, NormalSide.CREDIT, self._currency),
        )
        open_account(
            conn, Account(FUNDING_ACCOUNT, AccountKind.FUNDING, NormalSide.DEBIT, self._currency)
        )
        open_account(
            conn, Account(HOLDS_ACCOUNT, AccountKind.HOLDS, NormalSide.CREDIT, self._currency)
        )
        for card in self._cards:
            account = card_account(card, self._pan_key)
            if not open_account(conn, account):
                record_card_sequence(conn, card, self._pan_key)
            install_pin(conn, account.account_id, card.pin, card.pan, self._pin_keys)
            if card.opening_balance.minor > 0:
                post_entry(
                    conn,
                    reference=f"opening:{account.account_id}",
                    purpose=Purpose.FUNDING,
                    amount=card.opening_balance,
                    debit=FUNDING_ACCOUNT,
                    credit=account.account_id,
                    at=now,
                )

    def _authorise(self, conn: Connection, request: CardAuthorisation) -> tuple[CardResult, bool]:
        """The answer to `request`, and whether it is to be lost (see `authorise`)."""
        stored = find_authorisation(conn, request.reference)
        if stored is not None:
            return stored.result(), False
        if request.kind in ORIGINAL_KIND:
            return self._follow_up(conn, request), False
        pan_ref, pan_masked = _card_identity(request.pan, self._pan_key)
        card = None if pan_ref is None else card_on_file(conn, pan_ref)
        refusal = None
        chip = card is not None and needs_arqc(request)
        if card is not None and chip:
            # The card is authenticated first: nothing else is decided for a forged one.
            refusal = verify_arqc(request, self._imk_ac, card.card_sequence)
            chip = refusal is None
        if refusal is None and card is not None and request.pin_block is not None:
            # The PIN is checked before anything else about the card: a wrong PIN counts.
            refusal = verify_pin(
                conn, card.account_id, request.pan, request.pin_block, self._pin_keys
            )
        refusal = refusal or screen(request, card)
        entry_id, lost = None, False
        if refusal is None:
            assert card is not None
            answer, entry_id = self._approve(conn, request, card)
            lost = magic_code(request) == ANSWER_LOST
        else:
            answer = _declined(request.reference, refusal)
        if chip:
            issuer_data = authentication_data(request, self._imk_ac, answer.response_code)
            answer = replace(answer, issuer_authentication_data=issuer_data)
        record_authorisation(
            conn,
            kind=request.kind,
            pan_ref=pan_ref,
            pan_masked=pan_masked,
            amount=request.amount,
            answer=answer,
            entry_id=entry_id,
            at=self._clock.now(),
        )
        return answer, lost

    def _follow_up(self, conn: Connection, request: CardAuthorisation) -> CardResult:
        """A void, refund, completion or cancel: see `issuer.follow_ups`."""
        answer, entry_id, original = answer_follow_up(
            conn,
            request,
            settlement=SETTLEMENT_ACCOUNT,
            pan_key=self._pan_key,
            tolerance_percent=self._tolerance,
            at=self._clock.now(),
        )
        record_authorisation(
            conn,
            kind=request.kind,
            pan_ref=None if original is None else original.pan_ref,
            pan_masked=None,
            amount=request.amount,
            answer=answer,
            entry_id=entry_id,
            at=self._clock.now(),
            original_reference=request.original_reference,
        )
        return answer

    def _approve(
        self, conn: Connection, request: CardAuthorisation, card: CardOnFile
    ) -> tuple[CardResult, int | None]:
        """Move the money of a screened request; the answer and the entry it posted."""
        entry_id = None
        reason = "approved: balance inquiry"
        if request.kind.moves_money:
            movement = card_movement(conn, request, card, self._pan_key, SETTLEMENT_ACCOUNT)
            if isinstance(movement, Refusal):
                return _declined(request.reference, movement), None
            purpose, credit = movement
            try:
                entry_id = post_entry(
                    conn,
                    reference=request.reference,
                    purpose=purpose,
                    amount=request.amount,
                    debit=card.account_id,
                    credit=credit,
                    at=self._clock.now(),
                )
            except InsufficientFunds as refused:
                available = Money(refused.available, card.currency)
                refusal = Refusal("51", f"insufficient funds: {available} available")
                return _declined(request.reference, refusal), None
            assert entry_id is not None, "a sale entry exists without its authorisation"
            reason = f"approved: {request.amount} debited"
        available = balance(conn, card.account_id)
        code = approval_code(request.reference, self._pan_key)
        return CardResult(request.reference, APPROVED, code, available, reason), entry_id

    def _reverse(self, conn: Connection, reference: str) -> CardResult:
        stored = find_authorisation(conn, reference)
        if stored is None:
            record_tombstone(conn, reference, self._currency, self._clock.now())
            reason = "nothing to reverse: no authorisation with this reference was received"
            return CardResult(reference, APPROVED, None, None, reason)
        if stored.state == "declined" or stored.kind == Kind.REVERSAL.value:
            reason = f"nothing to reverse: the authorisation was answered {stored.response_code}"
            return CardResult(reference, APPROVED, None, None, reason)
        available = None
        if stored.entry_id is not None:
            assert stored.pan_ref is not None, "an entry was posted for an unidentified card"
            reverse_entries(conn, reference, self._clock.now())
            available = balance(conn, card_account_id(stored.pan_ref))
        if stored.state == "approved" and stored.original_reference is not None:
            # What the follow-up undid of its original is open to later follow-ups again.
            give_back_undone(conn, stored.original_reference, undone_by(conn, stored))
        mark_reversed(conn, reference)
        return CardResult(reference, APPROVED, stored.auth_code, available, "reversed")

    async def _run(self, work: Callable[[Connection], T]) -> T:
        """Run `work` durably; again if it lost a race that running it again resolves."""
        return await run_retrying(self._committer, work)


def _declined(reference: str, refusal: Refusal) -> CardResult:
    return CardResult(reference, refusal.code, None, None, refusal.reason)


def _card_identity(pan: str, key: bytes) -> tuple[str | None, str | None]:
    """The keyed reference and masked form of `pan`; None for what cannot be a card number."""
    if not (pan.isascii() and pan.isdigit() and 13 <= len(pan) <= 19):
        return None, None
    return pan_reference(pan, key), mask_merchant(pan)
