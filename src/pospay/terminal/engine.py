"""The terminal engine: runs transactions against the host and keeps its own journal.

Order of work for a sale, each step durable before the next:

1. record the attempt (STAN, voucher, amount, its own reference) as SENT;
2. send the 0200 and wait for the 0210;
3. record the outcome, and for an approval the receipts to print, in one unit;
4. print from the stored receipts; a printer fault leaves them stored, unprinted.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row

from pospay.cards import brand_of, mask_merchant
from pospay.clock import Clock
from pospay.errors import LinkError, OutcomeUnknown, PrinterFault
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
    REVERSAL_NO_RESPONSE,
    SIGN_IN_CODE,
)
from pospay.money import Money, currency_numeric
from pospay.printer import ReceiptPrinter
from pospay.storage import GroupCommitter
from pospay.terminal import journal, reversals
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.link import HostLink
from pospay.terminal.receipts import render_receipts
from pospay.terminal.store_and_forward import ReversalForwarder, ReversalStatus, Sleep
from pospay.transaction import Event, Kind, State

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
    ) -> None:
        self.config = config
        self._committer = committer
        self._link = link
        self._clock = clock
        self._printer = printer
        self._reversals = ReversalForwarder(config, committer, link, clock, sleep)

    async def open(self) -> None:
        """Create the terminal's counters on first start, and queue a reversal for every
        attempt the last run left in flight (sent at the next flush)."""
        terminal_id, merchant_id = self.config.terminal_id, self.config.merchant_id
        now = self._clock.now()

        def open_journal(connection: Connection) -> list[int]:
            journal.ensure_terminal(connection, terminal_id, merchant_id)
            return reversals.queue_interrupted(connection, terminal_id, now)

        queued = await self._committer.run(open_journal)
        if queued:
            log.warning("%d attempts were in flight at the last stop: reversal queued", len(queued))

    async def flush_reversals(self) -> list[ReversalStatus]:
        """Send every pending reversal, oldest first; see `terminal.store_and_forward`."""
        return await self._reversals.flush()

    async def sign_in(self) -> str:
        """Sign in to the host (0800/0810); returns the response code."""
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
            await self._committer.run(
                lambda connection: journal.record_signed_in(connection, terminal_id, now)
            )
            await self.flush_reversals()
        return code

    async def sale(self, card: CardRead, amount: Money) -> Outcome:
        return await self._card_attempt(Kind.SALE, card, amount)

    async def balance_inquiry(self, card: CardRead) -> Outcome:
        return await self._card_attempt(Kind.BALANCE_INQUIRY, card, Money(0, self.config.currency))

    async def _card_attempt(self, kind: Kind, card: CardRead, amount: Money) -> Outcome:
        await self.flush_reversals()
        now = self._clock.now()
        record = journal.AttemptRecord(
            terminal_id=self.config.terminal_id,
            kind=kind,
            method=card.method,
            amount_minor=amount.minor,
            currency=amount.currency,
            pan_masked=mask_merchant(card.pan),
            brand=brand_of(card.pan).value,
            operator=self.config.operator,
            transmission_at=transmission_field(now),
        )
        row = await self._committer.run(
            lambda connection: journal.record_attempt(connection, record, now)
        )
        request = self._card_request(kind, card, amount, row)
        try:
            response = await self._link.exchange(request, timeout=self.config.response_timeout)
        except LinkError as error:
            # Certainly not sent: the authority never saw it.
            return await self._finish(row, Event.NOT_FOUND, None, f"not sent: {error}")
        except OutcomeUnknown as error:
            log.warning("attempt %s outcome unknown: %s", row.local_ref, error)
            return await self._reverse(row, str(error))
        event, usable, reason = self._judge(row, response)
        if event is Event.TIME_OUT:
            log.warning("attempt %s response unusable: %s", row.local_ref, reason)
            return await self._reverse(row, reason)
        return await self._finish(row, event, usable, reason)

    async def _reverse(self, row: Row[Any], reason: str) -> Outcome:
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
            return int(reversals.queue_reversal(connection, row.id, REVERSAL_NO_RESPONSE, now).id)

        reversal_id = await self._committer.run(decide)
        await self._reversals.send(reversal_id, tries=1)
        done = await self._committer.read(lambda connection: journal.attempt(connection, row.id))
        return self._outcome(done, None, 0, 0)

    def _card_request(self, kind: Kind, card: CardRead, amount: Money, row: Row[Any]) -> Message:
        now = self._clock.now()
        request: Message = {
            "t": "0200",
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

    @staticmethod
    def _judge(row: Row[Any], response: Message) -> tuple[Event, Message | None, str]:
        """Decide what a response means for the attempt."""
        if response.get("t") != "0210":
            return Event.TIME_OUT, None, f"unexpected response MTI {response.get('t')}"
        if Kind(row.kind) is Kind.SALE and response.get("4") != amount_field(row.amount_minor):
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
            if State(done.state) is State.APPROVED and Kind(done.kind) is Kind.SALE:
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
