"""The acquiring host's handling of one decoded request: validate, journal, route, answer.

This is the host's core, with no sockets: a message goes in, a message comes out.
The TCP server (`pospay.host.server`) and the tests drive it the same way.

A request other than a sign-in is first authenticated (`answer`): a terminal with no
working keys is refused 58, a MAC that is not that of the bytes received A0, each
recorded only in the refusal log (`host.refusals`), so that a forged frame spends no
request key. A card request then goes through four steps, each durable before the next:

1. validate the message (format faults are answered 30 and leave no journal row);
2. record the request as SENT in the host journal, with its RRN — or, if the
   duplicate key (terminal, STAN, transmission time) exists, replay the stored
   answer and authorise nothing;
3. forward it to the card channel with the RRN as the idempotency reference;
4. record the channel's answer, then respond.

A reversal (0400) has its own duplicate key and its own table (`host.reversals`), and is
handled by `host.reversing.ReversalDesk`:

1. validate; record the reversal and, in the same unit, mark the original (found by
   field 90) REVERSAL_PENDING — or answer at once when there is nothing to undo
   (original never seen: 25, and its key is recorded as a tombstone so that the
   original, arriving late, is refused by the duplicate key; original declined: 00);
2. ask the channel to reverse the original's RRN (idempotent at the channel);
3. record the original REVERSED and the answer 00, then respond.

A repeat of an answered reversal gets the stored 0410 and causes nothing. A repeat of
one not yet answered (still running, or interrupted by a crash) runs steps 2 and 3
again: both are idempotent. An authorisation answer that arrives after the reversal
was decided leaves the original reversed (see `transaction.lifecycle`), and the
channel refuses or undoes it, because the reversal reached it under the same RRN.

A status query (0600, `host.status_query`) reads the journal row of the key it names
and answers done, in progress or not found; not found records a tombstone too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Connection, Row
from sqlalchemy.exc import IntegrityError

from pospay.cards import mask_merchant, pan_reference
from pospay.channels import CardAuthorisation, CardChannel, CardResult
from pospay.channels.wallet import WalletChannel
from pospay.clock import Clock
from pospay.errors import BadInput, IllegalTransition, MessageFormatError
from pospay.host import journal, link_keys, originals, refusals, settlement
from pospay.host.defects import Defect
from pospay.host.funding import funding_refusal
from pospay.host.refusals import MAC_ERROR, MAC_FAILED_REASON, NOT_SIGNED_IN_REASON
from pospay.host.responses import card_response, error_response
from pospay.host.reversing import ReversalDesk
from pospay.host.screening import check_track2, local_decline
from pospay.host.settings import HostSettings
from pospay.host.status_query import answer_status_query
from pospay.host.wallet_desk import WalletDesk, is_qr_request
from pospay.iso8583 import Message, Received
from pospay.iso8583.fields import read_amount
from pospay.iso8583.messages import (
    AMOUNTLESS,
    check_required,
    kind_of,
    method_of,
    response_mti,
)
from pospay.iso8583.response_codes import NOT_SIGNED_IN
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.security.keys import generate_working_keys, working_keys_field
from pospay.security.mac import needs_mac, received_mac_valid, with_mac
from pospay.security.pin import translate_pin_block
from pospay.storage import Committer
from pospay.transaction import Event, Kind, Method, State, is_final
from pospay.transaction.follow_ups import ORIGINAL_KIND
from pospay.transaction.lifecycle import LATE_APPROVAL_STATES

log = logging.getLogger(__name__)

FORMAT_ERROR = "30"
INVALID_TRANSACTION = "12"
NO_MASTER_KEY = "58"  # a sign-in from a terminal the host holds no master key for
# Requests whose field 37 names an earlier attempt: a follow-up's original, or the card
# sale that paid for a prepaid top-up.
_NAMES_AN_ATTEMPT = frozenset({*ORIGINAL_KIND, Kind.PREPAID_CARD_TOP_UP})


class HostService:
    """Answers terminal requests. Construct with storage, channel and clock injected."""

    def __init__(
        self,
        committer: Committer,
        channel: CardChannel,
        clock: Clock,
        settings: HostSettings,
        wallets: Mapping[Wallet, WalletChannel] | None = None,
    ) -> None:
        self._committer = committer
        self._channel = channel
        self._clock = clock
        self._settings = settings
        self._reversals = ReversalDesk(committer, channel, clock, settings)
        # QR payments (`host.wallet_desk`); `channel` must then route their reversals and
        # follow-ups too (`host.wallet_routing.WalletRoutedChannel`).
        self.wallets = None
        if wallets is not None:
            self.wallets = WalletDesk(committer, wallets, clock, settings, self._replay)
        # Records the REPLY_BEFORE_COMMIT defect left running after its answer.
        self._detached: set[asyncio.Future[Row[Any]]] = set()

    async def answer(self, request: Received, *, peer: str | None = None) -> Message | None:
        """The link's entry point: `handle` behind the MAC of `security.mac`.

        `request` is the message as it arrived (decoded, with its bytes) and `peer` the
        sender's address where known. Every request except network management (08xx)
        must carry a valid MAC, checked over the bytes received, under the MAC key of
        the terminal's last sign-in; its response then carries one too. A terminal with
        no working keys (never signed in) is refused 58, a missing or wrong MAC A0, both
        without a MAC and before anything else (58 wins over every other reason): such
        a request changes nothing and is logged as a refusal (`host.refusals`).
        """
        message = request.message
        if not needs_mac(message["t"]):
            return await self.handle(message)
        terminal_id, kek = message.get("41", ""), self._settings.key_encryption_key
        keys = await self._committer.read(
            lambda connection: link_keys.working_keys(connection, terminal_id, kek)
        )
        if keys is None:
            # Sign-in stores both keys in one unit (and host_0003 ended every older
            # sign-in): no keys, never signed in.
            return await self._refuse(message, NOT_SIGNED_IN, NOT_SIGNED_IN_REASON, peer)
        if not received_mac_valid(request, keys.mac_key):
            return await self._refuse(message, MAC_ERROR, MAC_FAILED_REASON, peer)
        response = await self.handle(message)
        return None if response is None else with_mac(response, keys.mac_key)

    async def _refuse(
        self, request: Message, code: str, reason: str, peer: str | None
    ) -> Message | None:
        """Answer `code` without a MAC, having logged the refusal; nothing else changes."""
        response = error_response(request, code)
        if response is None:
            return None  # a response MTI: not answered at all (docs section 7)
        log.warning(
            "request %s %s/%s from %s refused %s: %s",
            request["t"],
            request.get("41"),
            request.get("11"),
            peer or "an unknown peer",
            code,
            reason,
        )
        now = self._clock.now()
        await self._committer.run(
            lambda connection: refusals.record_refusal(connection, request, code, reason, peer, now)
        )
        return response

    async def handle(self, request: Message) -> Message | None:
        """The response to `request`, or None when it deserves no answer at all."""
        try:
            kind = kind_of(request)
            if kind is None:
                log.info("unsupported request %s/%s", request.get("t"), request.get("3"))
                return error_response(request, INVALID_TRANSACTION)
            if self.wallets is not None and is_qr_request(request):
                return await self.wallets.authorise(kind, request)
            check_required(kind, request)
            if kind is Kind.SIGN_IN:
                return await self._sign_in(request)
            if kind is Kind.REVERSAL:
                return await self._reversals.reverse(request)
            if kind is Kind.STATUS_QUERY:
                if self.wallets is not None:
                    await self.wallets.refresh(request)
                return await answer_status_query(self._committer, self._clock, request)
            if kind is Kind.SETTLEMENT:
                return await settlement.settle(self._committer, self._clock, request)
            if kind is Kind.BATCH_UPLOAD:
                return await settlement.upload(self._committer, self._clock, request)
            return await self._authorise(kind, request)
        except BadInput as fault:
            log.info("request refused as format error: %s", fault)
            return error_response(request, FORMAT_ERROR)

    async def _sign_in(self, request: Message) -> Message:
        master_key = self._settings.master_key_of(request["41"])
        if master_key is None:
            # No TMK for this terminal in the host's keys: no working keys can reach it.
            # Nothing is recorded; 58 as for any request of a terminal not signed in.
            log.warning("sign-in of terminal %s refused: no master key for it", request["41"])
            return _sign_in_answer(request, NO_MASTER_KEY)
        now = self._clock.now()
        # Fresh working keys at every sign-in, stored (wrapped) in the sign-in's unit.
        keys = generate_working_keys(self._settings.random_bytes)
        kek = self._settings.key_encryption_key

        def work(connection: Connection) -> int:
            link_keys.store_working_keys(connection, request["41"], keys, kek, now)
            return journal.record_sign_in(
                connection, request["41"], request["42"], request["60"], now
            )

        await self._committer.run(work)
        return _sign_in_answer(request, "00") | {"62": working_keys_field(keys, master_key)}

    async def _authorise(self, kind: Kind, request: Message) -> Message:
        # A follow-up carries no card: the original its field 37 names supplies it.
        follow_up = kind in ORIGINAL_KIND
        if not follow_up:
            check_track2(request)
        pan = request.get("2", "")
        if kind in AMOUNTLESS:
            amount = Money(0, read_amount({"4": "0", "49": request["49"]}).currency)
        else:
            amount = read_amount(request)
        record = journal.RequestRecord(
            terminal_id=request["41"],
            stan=request["11"],
            transmission_at=request["7"],
            merchant_id=request["42"],
            mti=request["t"],
            processing_code=request["3"],
            kind=kind,
            method=Method.CARD_MANUAL if follow_up else method_of(request),
            amount_minor=amount.minor,
            currency=amount.currency,
            pan_masked=mask_merchant(pan) if len(pan) >= 13 else "*" * len(pan),
            pan_ref="" if follow_up else pan_reference(pan, self._settings.pan_key),
            batch=request["60"][:6],
            pos_entry_mode=None if follow_up else request["22"],
            card_sequence=None if follow_up else request.get("23"),
        )
        declined_here = None if follow_up else local_decline(kind, request, amount)
        now = self._clock.now()

        def record_it(connection: Connection) -> Row[Any]:
            # The sign-in check shares the unit that records the request: one round trip.
            decline = declined_here
            entry = record
            if follow_up:
                original = journal.find_by_rrn(connection, request["37"])
                entry = originals.adopt(record, original)
                decline = originals.refusal(connection, entry, original)
            elif kind is Kind.PREPAID_CARD_TOP_UP and decline is None:
                sale = journal.find_by_rrn(connection, request["37"])
                decline = funding_refusal(connection, record, sale)
                if sale is not None and decline is None:
                    entry = dataclasses.replace(record, original_id=sale.id)
            # Not signed in under this merchant (58), or a settled batch (77), wins over
            # every other reason (docs section 7).
            decline = (
                journal.admission(connection, record.terminal_id, record.merchant_id, record.batch)
                or decline
            )
            if decline is not None:
                code, reason = decline
                return journal.record_local_decline(connection, entry, code, reason, now)
            return journal.record_request(connection, entry, now)

        try:
            row = await self._committer.run(record_it)
        except IntegrityError:
            if Defect.SKIP_DUPLICATE_CHECK in self._settings.defects:
                fresh = self._settings.random_bytes(6).hex()
                await self._forward(kind, request, fresh, amount)  # the defect: twice
            return await self._replay(request)
        if row.response_code is not None:  # declined by the host itself, never forwarded
            return card_response(row)

        result = await self._forward(kind, request, row.rrn, amount)
        if result is None:
            # The issuer may have acted: the attempt stays UNKNOWN for recovery.
            result = CardResult(row.rrn, "91", None, None, "no answer from the issuer in time")
            event = Event.TIME_OUT
        else:
            event = Event.APPROVE if result.response_code == "00" else Event.DECLINE
        answer = result

        def record_answer(connection: Connection) -> Row[Any]:
            try:
                done = journal.record_outcome(
                    connection,
                    row.id,
                    event,
                    response_code=answer.response_code,
                    auth_code=answer.auth_code,
                    balance_minor=answer.balance.minor if answer.balance is not None else None,
                    reason=answer.reason,
                    now=self._clock.now(),
                    issuer_auth_data=(
                        None
                        if answer.issuer_authentication_data is None
                        else answer.issuer_authentication_data.hex().upper()
                    ),
                )
            except IllegalTransition:
                # The recovery job resolved the attempt before this answer (or timeout)
                # came: it stands as recovery left it, and the terminal is told that.
                standing = journal.request_row(connection, row.id)
                log.info("late %s for %s left it %s", event.value, row.rrn, standing.state)
                return standing
            if follow_up and State(done.state) is State.APPROVED:
                originals.apply_to_original(connection, done, self._clock.now())
            return done

        if Defect.REPLY_BEFORE_COMMIT in self._settings.defects:
            return self._reply_first(row, answer, record_answer)
        finished = await self._committer.run(record_answer)
        return card_response(finished)

    def _reply_first(
        self, row: Row[Any], answer: CardResult, record: Callable[[Connection], Row[Any]]
    ) -> Message:
        """The REPLY_BEFORE_COMMIT defect: the answer leaves before it is recorded."""
        recording = asyncio.ensure_future(self._committer.run(record))
        self._detached.add(recording)
        recording.add_done_callback(self._detached.discard)
        unrecorded = dict(row._mapping) | {
            "response_code": answer.response_code,
            "auth_code": answer.auth_code,
            "balance_minor": None if answer.balance is None else answer.balance.minor,
            "issuer_auth_data": (
                None
                if answer.issuer_authentication_data is None
                else answer.issuer_authentication_data.hex().upper()
            ),
        }
        return card_response(cast(Row[Any], SimpleNamespace(**unrecorded)))

    async def _forward(
        self, kind: Kind, request: Message, rrn: str, amount: Money
    ) -> CardResult | None:
        """The channel's answer, or None when none came in time."""
        authorisation = CardAuthorisation(
            reference=rrn,
            kind=kind,
            pan=request.get("2", ""),
            expiry=request.get("14", ""),
            amount=amount,
            merchant_id=request["42"],
            terminal_id=request["41"],
            at=self._clock.now(),
            pin_block=await self._translated_pin_block(request),
            original_reference=request["37"] if kind in _NAMES_AN_ATTEMPT else None,
            target_pan=request.get("103"),
            method=None if kind in ORIGINAL_KIND else method_of(request),
            card_sequence=request.get("23", ""),
            icc_data=bytes.fromhex(request["55"]) if "55" in request else None,
        )
        try:
            return await asyncio.wait_for(
                self._channel.authorise(authorisation), self._settings.channel_timeout
            )
        except TimeoutError:
            return None

    async def _translated_pin_block(self, request: Message) -> bytes | None:
        """Field 52 translated from the terminal's PIN key to the zone PIN key (the HSM's
        job; the block is never stored or logged), or None without a PIN."""
        if "52" not in request:
            return None
        terminal_id, kek = request["41"], self._settings.key_encryption_key
        keys = await self._committer.read(
            lambda connection: link_keys.working_keys(connection, terminal_id, kek)
        )
        if keys is None:
            return None
        return translate_pin_block(
            bytes.fromhex(request["52"]), keys.pin_key, self._settings.zone_pin_key
        )

    async def _replay(self, request: Message) -> Message:
        """Answer a duplicate with the stored response once the original has one."""
        key = (request["41"], request["11"], request["7"])
        deadline = self._clock.monotonic() + self._settings.duplicate_wait
        while True:
            row = await self._committer.read(
                lambda connection: journal.find_request(connection, *key)
            )
            if row is None:
                raise MessageFormatError("duplicate key vanished", field="11")
            answered = row.response_code is not None
            if answered and (is_final(State(row.state)) or State(row.state) is State.UNKNOWN):
                log.info("duplicate transmission %s/%s replayed", key[0], key[1])
                response = card_response(row)
            elif (not answered and State(row.state) in LATE_APPROVAL_STATES) or (
                self._clock.monotonic() >= deadline
            ):
                # Reversed before it was answered, or still in progress: nothing to replay.
                refused = error_response(request, "94")
                assert refused is not None, "a journaled request has a request MTI"
                response = refused
            else:
                await asyncio.sleep(0.05)
                continue
            await self._committer.run(self._replay_recorder(row.id, response.get("39", "94")))
            return response

    def _replay_recorder(self, row_id: int, code: str) -> Callable[[Connection], None]:
        now = self._clock.now()
        return lambda connection: journal.record_replay(connection, row_id, code, now)


def _sign_in_answer(request: Message, response_code: str) -> Message:
    """An 0810 echoing the 0800, with `response_code` (working keys added by the caller)."""
    echoed = {field: request[field] for field in ("7", "11", "41", "42", "60", "70")}
    return {"t": response_mti(request["t"]), "39": response_code, **echoed}
