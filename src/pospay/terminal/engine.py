"""The terminal engine: runs transactions against the host and keeps its own journal.

Order of work for a sale, each step durable before the next:

1. record the attempt (STAN, voucher, amount, its own reference) as SENT;
2. send the 0200 and wait for the 0210;
3. record the outcome, and for an approval the receipts to print, in one unit;
4. print from the stored receipts; a printer fault leaves them stored, unprinted.

Pre-authorisations and transfers run the same way. A void, refund, completion or cancel
first finds its original in this journal by voucher number or RRN (`OriginalNotFound`
otherwise, before anything is recorded), sends the original's RRN instead of card data,
and on approval moves the original (voided, refunded) in the unit of step 3. Every
money-moving type prints a merchant and a customer copy.

An attempt whose response never came (or came unusable) is never declined: its
money may have moved. In one unit it goes UNKNOWN, then REVERSAL_PENDING with a
reversal queued (`terminal.reversals`), and the reversal is sent at once. Queued
reversals go out again before every transaction and at sign-in
(`terminal.store_and_forward`); an attempt a restart left SENT is queued for reversal
(reason 06) when the terminal opens.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, Row

from pospay.cards import brand_of, mask_merchant
from pospay.clock import Clock
from pospay.emv import IccData, SimulatedCard, TerminalData, decode_icc_data
from pospay.emv.icc_data import ISSUER_AUTHENTICATION_DATA
from pospay.errors import (
    LinkError,
    MacFailure,
    MessageFormatError,
    OriginalNotFound,
    OutcomeUnknown,
    PrinterFault,
)
from pospay.iso8583 import Message, describe
from pospay.iso8583.fields import (
    amount_field,
    local_date_field,
    local_time_field,
    read_balance_field,
    transmission_field,
)
from pospay.iso8583.messages import (
    ENTRY_MODES,
    PROCESSING_CODES,
    REQUEST_MTI,
    REVERSAL_BAD_MAC,
    REVERSAL_ISSUER_AUTH_FAILED,
    REVERSAL_NO_RESPONSE,
    SIGN_IN_CODE,
    response_mti,
)
from pospay.money import Money, currency_numeric
from pospay.printer import ReceiptPrinter
from pospay.security.keys import RandomBytes, WorkingKeys, decrypt_under, read_working_keys_field
from pospay.security.pin import PIN_SECURITY_CONTROL, encrypt_pin_block
from pospay.storage import GroupCommitter
from pospay.terminal import journal, keys, reversals
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.link import HostLink
from pospay.terminal.operators import Credentials, Operator, Operators, SupervisorPolicy
from pospay.terminal.receipts import render_receipts
from pospay.terminal.secure_link import MacLink
from pospay.terminal.settlement import BatchSettlement, SettlementOutcome
from pospay.terminal.store_and_forward import ReversalForwarder, ReversalStatus, Sleep
from pospay.transaction import Event, Kind, Method, State
from pospay.transaction.follow_ups import ORIGINAL_KIND

log = logging.getLogger(__name__)

# What the operator is told about an attempt whose answer never came.
_OPERATOR_MESSAGES: dict[State, tuple[str, str]] = {
    State.REVERSAL_PENDING: ("交易结果未知，正在冲正，请勿重复交易", "No answer, reversal pending"),
    State.REVERSED: ("交易超时，已冲正，未扣款", "No answer, reversed: nothing charged"),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the operator is told about one attempt."""

    attempt_id: int
    local_ref: str
    stan: str
    voucher: str
    kind: Kind
    state: State
    response_code: str | None
    message_zh: str
    message_en: str
    auth_code: str | None
    rrn: str | None
    balance: Money | None
    receipts_printed: int
    receipts_pending: int

    @property
    def approved(self) -> bool:
        return self.state is State.APPROVED


class Terminal:
    """One payment terminal. Storage, host link, clock and printer are injected."""

    def __init__(
        self,
        config: TerminalConfig,
        committer: GroupCommitter,
        link: HostLink,
        clock: Clock,
        printer: ReceiptPrinter,
        *,
        sleep: Sleep = asyncio.sleep,
        password_hasher: PasswordHasher | None = None,
        unpredictable: RandomBytes = secrets.token_bytes,
    ) -> None:
        self.config = config
        self._committer = committer
        # Every financial message goes through the MAC layer, reversals included.
        self._link = MacLink(link)
        self._clock = clock
        self._printer = printer
        self._reversals = ReversalForwarder(config, committer, self._link, clock, sleep)
        policy = SupervisorPolicy(config.supervisor_kinds)
        self.operators = Operators(committer, config.terminal_id, clock, policy, password_hasher)
        self._session: Operator | None = None
        # Where the unpredictable numbers (9F37) given to the chip come from.
        self._unpredictable = unpredictable

    async def open(self) -> None:
        """Create the terminal's counters on first start, and queue a reversal for every
        attempt the last run left in flight (sent at the next flush)."""
        terminal_id, merchant_id = self.config.terminal_id, self.config.merchant_id
        now = self._clock.now()

        tmk = self.config.master_key

        def open_journal(connection: Connection) -> tuple[list[int], WorkingKeys | None]:
            journal.ensure_terminal(connection, terminal_id, merchant_id)
            working_keys = keys.working_keys(connection, terminal_id, tmk)
            return reversals.queue_interrupted(connection, terminal_id, now), working_keys

        queued, self._link.keys = await self._committer.run(open_journal)
        if queued:
            log.warning("%d attempts were in flight at the last stop: reversal queued", len(queued))

    async def flush_reversals(self) -> list[ReversalStatus]:
        """Send every pending reversal, oldest first; see `terminal.store_and_forward`."""
        return await self._reversals.flush()

    async def sign_in(self) -> str:
        """Sign in to the host (0800/0810); returns the response code.

        An approved sign-in brings fresh working keys in field 62; they are checked
        against their KCVs (`KeyCheckFailed`, and the terminal stays as it was, if one
        does not match) and stored under the TMK in the unit that records the sign-in.
        """
        terminal_id = self.config.terminal_id

        def take_numbers(connection: Connection) -> tuple[str, str]:
            return journal.next_stan(connection, terminal_id), journal.current_batch(
                connection, terminal_id
            )

        stan, batch = await self._committer.run(take_numbers)
        now = self._clock.now()
        response = await self._link.exchange(
            {
                "t": "0800",
                "7": transmission_field(now),
                "11": stan,
                "41": terminal_id,
                "42": self.config.merchant_id,
                "60": batch,
                "70": SIGN_IN_CODE,
            },
            timeout=self.config.response_timeout,
        )
        code = response.get("39", "96")
        if code == "00":
            tmk = self.config.master_key
            pin_key, mac_key = read_working_keys_field(response.get("62", ""), tmk)

            def signed_in(connection: Connection) -> None:
                keys.store_working_keys(connection, terminal_id, pin_key, mac_key, now)
                journal.record_signed_in(connection, terminal_id, now)

            await self._committer.run(signed_in)
            self._link.keys = WorkingKeys(decrypt_under(tmk, pin_key), decrypt_under(tmk, mac_key))
            await self.flush_reversals()
        return code

    async def log_in(self, credentials: Credentials) -> Operator:
        """Open an operator session: later attempts record this operator unless a call
        names another. Raises `NotAuthorised` for a wrong id or password."""
        self._session = await self.operators.log_in(credentials)
        log.info("operator %s logged in", self._session.operator_id)
        return self._session

    def log_out(self) -> None:
        self._session = None

    def operator_id(self, operator: str | None = None) -> str:
        """Who runs an attempt: `operator` if given, else the session's, else the
        configured default (a terminal without operators)."""
        if operator is not None:
            return operator
        if self._session is not None:
            return self._session.operator_id
        return self.config.operator

    async def require(self, kind: Kind, supervisor: Credentials | None) -> str | None:
        """The supervisor policy check every attempt path calls first, before anything
        is recorded or sent: None when `kind` needs no supervisor, else the id of the
        supervisor whose password was checked (record it). Raises `NotAuthorised`."""
        return await self.operators.require(kind, supervisor)

    async def settle(
        self, supervisor: Credentials | None = None, *, operator: str | None = None
    ) -> SettlementOutcome:
        """End of day: settle the current batch with the host (see `terminal.settlement`)."""
        supervisor_id = await self.require(Kind.SETTLEMENT, supervisor)
        await self.flush_reversals()
        settlement = BatchSettlement(
            self.config, self._committer, self._link, self._clock, self._printer
        )
        return await settlement.run(self.operator_id(operator), supervisor_id)

    async def sale(self, card: CardRead, amount: Money, *, operator: str | None = None) -> Outcome:
        return await self._card_attempt(Kind.SALE, card, amount, operator=operator)

    async def balance_inquiry(self, card: CardRead, *, operator: str | None = None) -> Outcome:
        zero = Money(0, self.config.currency)
        return await self._card_attempt(Kind.BALANCE_INQUIRY, card, zero, operator=operator)

    async def preauth(
        self,
        card: CardRead,
        amount: Money,
        *,
        operator: str | None = None,
        supervisor: Credentials | None = None,
    ) -> Outcome:
        """Pre-authorise `amount`: the issuer holds it on the card until completion or cancel."""
        return await self._card_attempt(
            Kind.PREAUTH, card, amount, operator=operator, supervisor=supervisor
        )

    async def transfer(
        self,
        card: CardRead,
        target_pan: str,
        amount: Money,
        *,
        operator: str | None = None,
        supervisor: Credentials | None = None,
    ) -> Outcome:
        """Move `amount` from `card` to the card `target_pan`; the journal keeps neither PAN."""
        return await self._card_attempt(
            Kind.TRANSFER,
            card,
            amount,
            operator=operator,
            supervisor=supervisor,
            target_pan=target_pan,
        )

    async def void(
        self,
        voucher: str,
        *,
        operator: str | None = None,
        supervisor: Credentials | None = None,
    ) -> Outcome:
        """Void the sale with this voucher number (or RRN): its full amount, same batch."""
        return await self._follow_up(Kind.VOID, voucher, None, operator, supervisor)

    async def refund(
        self,
        original: str,
        amount: Money,
        *,
        operator: str | None = None,
        supervisor: Credentials | None = None,
    ) -> Outcome:
        """Refund `amount` of the sale with this voucher number or RRN, in any batch."""
        return await self._follow_up(Kind.REFUND, original, amount, operator, supervisor)

    async def complete(
        self,
        voucher: str,
        amount: Money,
        *,
        operator: str | None = None,
        supervisor: Credentials | None = None,
    ) -> Outcome:
        """Complete the pre-authorisation with this voucher number (or RRN) for `amount`."""
        return await self._follow_up(Kind.PREAUTH_COMPLETION, voucher, amount, operator, supervisor)

    async def cancel_preauth(
        self,
        voucher: str,
        *,
        operator: str | None = None,
        supervisor: Credentials | None = None,
    ) -> Outcome:
        """Cancel the pre-authorisation with this voucher number (or RRN): release its hold."""
        return await self._follow_up(Kind.PREAUTH_CANCEL, voucher, None, operator, supervisor)

    async def _card_attempt(
        self,
        kind: Kind,
        card: CardRead,
        amount: Money,
        *,
        operator: str | None = None,
        supervisor: Credentials | None = None,
        target_pan: str | None = None,
    ) -> Outcome:
        supervisor_id = await self.require(kind, supervisor)
        await self.flush_reversals()
        now = self._clock.now()
        emv = None if card.icc is None else self._generate_ac(card.icc, kind, amount, now)
        record = journal.AttemptRecord(
            terminal_id=self.config.terminal_id,
            kind=kind,
            method=card.method,
            amount_minor=amount.minor,
            currency=amount.currency,
            pan_masked=mask_merchant(card.pan),
            brand=brand_of(card.pan).value,
            operator=self.operator_id(operator),
            supervisor=supervisor_id,
            transmission_at=transmission_field(now),
            pos_entry_mode=ENTRY_MODES[card.method],
            card_sequence=card.sequence,
            emv=emv,
        )
        row = await self._committer.run(
            lambda connection: journal.record_attempt(connection, record, now)
        )
        request = self._card_request(kind, card, amount, row) | self._pin_fields(card)
        if emv is not None:
            request["55"] = emv.field_55().hex().upper()
        if card.track2 is not None:
            request["35"] = card.track2
        if target_pan is not None:
            request["103"] = target_pan
        chip = None if card.icc is None or emv is None else (card.icc, emv)
        return await self._exchange(row, request, chip)

    def _generate_ac(
        self, card: SimulatedCard, kind: Kind, amount: Money, now: datetime
    ) -> IccData:
        """Ask the chip for its ARQC over this attempt's data (first GENERATE AC)."""
        terminal_data = TerminalData(
            amount_minor=amount.minor,
            currency_numeric=currency_numeric(amount.currency),
            country_numeric=self.config.country,
            date=now,
            unpredictable_number=self._unpredictable(4),
            transaction_type=PROCESSING_CODES[kind][:2],
        )
        return card.generate_ac(terminal_data)

    async def _follow_up(
        self,
        kind: Kind,
        reference: str,
        amount: Money | None,
        operator: str | None,
        supervisor: Credentials | None,
    ) -> Outcome:
        """Run a void, refund, completion or cancel of the attempt `reference` names (a
        voucher number or an RRN of this terminal's journal); `amount` None: all of it."""
        supervisor_id = await self.require(kind, supervisor)
        terminal_id, wanted = self.config.terminal_id, ORIGINAL_KIND[kind]
        original = await self._committer.read(
            lambda connection: journal.find_original(connection, terminal_id, wanted, reference)
        )
        if original is None:
            raise OriginalNotFound(wanted.value, reference)
        await self.flush_reversals()
        if amount is None:
            amount = Money(original.amount_minor, original.currency)
        now = self._clock.now()
        record = journal.AttemptRecord(
            terminal_id=terminal_id,
            kind=kind,
            method=Method(original.method),
            amount_minor=amount.minor,
            currency=amount.currency,
            pan_masked=original.pan_masked,
            brand=original.brand,
            operator=self.operator_id(operator),
            supervisor=supervisor_id,
            transmission_at=transmission_field(now),
            original_id=original.id,
            pos_entry_mode=original.pos_entry_mode,
            card_sequence=original.card_sequence,
        )
        row = await self._committer.run(
            lambda connection: journal.record_attempt(connection, record, now)
        )
        request: Message = {
            "t": REQUEST_MTI[kind],
            "3": PROCESSING_CODES[kind],
            "4": amount_field(amount.minor),
            "7": row.transmission_at,
            "11": row.stan,
            "12": local_time_field(now),
            "13": local_date_field(now),
            "25": "00",
            "37": original.rrn,
            "41": terminal_id,
            "42": self.config.merchant_id,
            "49": currency_numeric(amount.currency),
            "60": row.batch,
        }
        if original.auth_code:
            request["38"] = original.auth_code
        return await self._exchange(row, request)

    async def _exchange(
        self,
        row: Row[Any],
        request: Message,
        chip: tuple[SimulatedCard, IccData] | None = None,
    ) -> Outcome:
        """Send the request of the recorded attempt `row` and settle its outcome; for a
        chip attempt, an approval stands only if the card accepts the issuer's ARPC."""
        try:
            response = await self._link.exchange(request, timeout=self.config.response_timeout)
        except LinkError as error:
            # Certainly not sent: the authority never saw it.
            return await self._finish(row, Event.NOT_FOUND, None, f"not sent: {error}")
        except OutcomeUnknown as error:
            log.warning("attempt %s outcome unknown: %s", row.local_ref, error)
            code = REVERSAL_BAD_MAC if isinstance(error, MacFailure) else REVERSAL_NO_RESPONSE
            return await self._reverse(row, str(error), code)
        event, usable, reason = self._judge(row, response)
        if event is Event.TIME_OUT:
            log.warning("attempt %s response unusable: %s", row.local_ref, reason)
            return await self._reverse(row, reason)
        if event is Event.APPROVE and chip is not None:
            failure = _issuer_authentication_failure(chip, response)
            if failure is not None:
                log.warning("attempt %s approved but %s: reversing", row.local_ref, failure)
                return await self._reverse(row, failure, REVERSAL_ISSUER_AUTH_FAILED)
        return await self._finish(row, event, usable, reason)

    async def _reverse(
        self, row: Row[Any], reason: str, reason_code: str = REVERSAL_NO_RESPONSE
    ) -> Outcome:
        """The outcome is unknown: decide the reversal durably, then send it once now."""
        now = self._clock.now()

        def decide(connection: Connection) -> int:
            journal.record_outcome(
                connection,
                row.id,
                Event.TIME_OUT,
                response_code=None,
                auth_code=None,
                rrn=None,
                balance_minor=None,
                reason=reason,
                now=now,
            )
            return int(reversals.queue_reversal(connection, row.id, reason_code, now).id)

        reversal_id = await self._committer.run(decide)
        await self._reversals.send(reversal_id, tries=1)
        done = await self._committer.read(lambda connection: journal.attempt(connection, row.id))
        return self._outcome(done, None, 0, 0)

    def _card_request(self, kind: Kind, card: CardRead, amount: Money, row: Row[Any]) -> Message:
        now = self._clock.now()
        request: Message = {
            "t": REQUEST_MTI[kind],
            "2": card.pan,
            "3": PROCESSING_CODES[kind],
            "7": row.transmission_at,
            "11": row.stan,
            "12": local_time_field(now),
            "13": local_date_field(now),
            "14": card.expiry,
            "22": ENTRY_MODES[card.method],
            "23": card.sequence,
            "25": "00",
            "41": self.config.terminal_id,
            "42": self.config.merchant_id,
            "49": currency_numeric(amount.currency),
            "60": row.batch,
        }
        if kind is not Kind.BALANCE_INQUIRY:
            request["4"] = amount_field(amount.minor)
        return request

    def _pin_fields(self, card: CardRead) -> Message:
        """Fields 52 and 53 for an online PIN, under the PIN key of the last sign-in."""
        working_keys = self._link.keys
        if card.pin is None or working_keys is None:
            return {}
        return {
            "52": encrypt_pin_block(card.pin, card.pan, working_keys.pin_key),
            "53": PIN_SECURITY_CONTROL,
        }

    @staticmethod
    def _judge(row: Row[Any], response: Message) -> tuple[Event, Message | None, str]:
        """Decide what a response means for the attempt."""
        kind = Kind(row.kind)
        if response.get("t") != response_mti(REQUEST_MTI[kind]):
            return Event.TIME_OUT, None, f"unexpected response MTI {response.get('t')}"
        if kind.moves_money and response.get("4") != amount_field(row.amount_minor):
            return Event.TIME_OUT, None, "response amount differs from the request"
        code = response.get("39", "")
        entry = describe(code)
        if code == "00":
            return Event.APPROVE, response, entry.meaning
        return Event.DECLINE, response, entry.meaning

    async def _finish(
        self, row: Row[Any], event: Event, response: Message | None, reason: str
    ) -> Outcome:
        now = self._clock.now()
        balance = None
        if response is not None and "54" in response:
            balance = read_balance_field(response["54"])
        config = self.config

        def finish(connection: Connection) -> tuple[Row[Any], list[tuple[int, str, bytes, str]]]:
            done = journal.record_outcome(
                connection,
                row.id,
                event,
                response_code=response.get("39") if response else None,
                auth_code=response.get("38") if response else None,
                rrn=response.get("37") if response else None,
                balance_minor=balance.minor if balance else None,
                reason=reason,
                now=now,
            )
            jobs: list[tuple[int, str, bytes, str]] = []
            if State(done.state) is State.APPROVED and done.original_id is not None:
                journal.apply_to_original(connection, done, now)
            if State(done.state) is State.APPROVED and Kind(done.kind).moves_money:
                for copy, text, escpos in render_receipts(done, config):
                    receipt_id = journal.store_receipt(connection, done.id, copy, text, escpos, now)
                    jobs.append((receipt_id, f"{done.voucher}-{copy}", escpos, text))
            return done, jobs

        done, jobs = await self._committer.run(finish)
        printed = await self._print(jobs)
        return self._outcome(done, balance, printed, len(jobs) - printed)

    @staticmethod
    def _outcome(done: Row[Any], balance: Money | None, printed: int, pending: int) -> Outcome:
        code = done.response_code
        entry = describe(code) if code else None
        state = State(done.state)
        if state in _OPERATOR_MESSAGES:
            message_zh, message_en = _OPERATOR_MESSAGES[state]
        elif entry is None:
            message_zh, message_en = ("交易结果未知，请勿重复交易", "Outcome unknown, do not retry")
            if state is State.DECLINED:
                message_zh, message_en = ("交易未发送", "Not sent")
        else:
            message_zh, message_en = entry.operator_zh, entry.operator_en
        return Outcome(
            attempt_id=done.id,
            local_ref=done.local_ref,
            stan=done.stan,
            voucher=done.voucher,
            kind=Kind(done.kind),
            state=state,
            response_code=code,
            message_zh=message_zh,
            message_en=message_en,
            auth_code=done.auth_code,
            rrn=done.rrn,
            balance=balance,
            receipts_printed=printed,
            receipts_pending=pending,
        )

    @staticmethod
    def _marker(receipt_id: int, at: datetime) -> Callable[[Connection], None]:
        return lambda connection: journal.mark_printed(connection, receipt_id, at)

    async def _print(self, jobs: list[tuple[int, str, bytes, str]]) -> int:
        printed = 0
        for receipt_id, name, escpos, text in jobs:
            try:
                self._printer.print_job(name, escpos, text)
            except PrinterFault as fault:
                log.warning("receipt %s stays pending: %s", name, fault)
                continue
            await self._committer.run(self._marker(receipt_id, self._clock.now()))
            printed += 1
        return printed


def _issuer_authentication_failure(
    chip: tuple[SimulatedCard, IccData], response: Message
) -> str | None:
    """None if the card accepts tag 91 of the response (EXTERNAL AUTHENTICATE); else why not."""
    card, emv = chip
    try:
        tags = decode_icc_data(bytes.fromhex(response.get("55", "")))
    except (MessageFormatError, ValueError):
        return "issuer authentication failed: field 55 of the answer is not BER-TLV"
    issuer_data = tags.get(ISSUER_AUTHENTICATION_DATA)
    if issuer_data is None:
        return "issuer authentication failed: the answer carries no ARPC (tag 91)"
    if not card.external_authenticate(emv.arqc, issuer_data):
        return "issuer authentication failed: the card rejected the ARPC"
    return None
