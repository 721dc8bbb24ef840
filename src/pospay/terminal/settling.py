"""How a recorded attempt ends: its request goes out, and its answer — or the lack of one —
decides its outcome (see `terminal.engine` for the order of work).

- an answer that judges usable ends the attempt (APPROVED or DECLINED), with the
  receipts of an approval stored in the same unit and printed through the queue; a chip
  approval stands only if the card accepts the issuer's ARPC;
- an answer that cannot be trusted (bad MAC, wrong amount, rejected ARPC) is reversed;
- no answer: the attempt is recorded UNKNOWN, then a status query asks the host; done
  ends it from the stored answer, not found declines it, anything else reverses it. A
  94 (duplicate transmission: the host holds a request under this key and has not
  answered it, e.g. a copy the network duplicated overtook the original) is no answer:
  it says nothing of the outcome, and is resolved the same way;
- a request that certainly never left (`LinkError`) is declined: nothing moved.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Row

from pospay.clock import Clock
from pospay.emv import IccData, SimulatedCard
from pospay.errors import LinkError, MacFailure, OutcomeUnknown
from pospay.iso8583 import Message
from pospay.iso8583.fields import read_balance_field, transmission_field
from pospay.iso8583.messages import (
    REVERSAL_BAD_MAC,
    REVERSAL_ISSUER_AUTH_FAILED,
    REVERSAL_NO_RESPONSE,
)
from pospay.storage import Committer
from pospay.terminal import journal, reversals
from pospay.terminal.answers import issuer_authentication_failure, judge
from pospay.terminal.config import TerminalConfig
from pospay.terminal.outcome import Outcome, outcome_of
from pospay.terminal.printing import ReceiptSpooler, Source
from pospay.terminal.receipts import store_receipts
from pospay.terminal.secure_link import MacLink
from pospay.terminal.status_query import Status, StatusReport, read_status_answer, status_request
from pospay.terminal.store_and_forward import ReversalForwarder
from pospay.transaction import Event, Kind, State

log = logging.getLogger(__name__)

DUPLICATE_TRANSMISSION = "94"


class AttemptSettler:
    """Sends recorded attempts and settles their outcomes, for one terminal."""

    def __init__(
        self,
        config: TerminalConfig,
        committer: Committer,
        link: MacLink,
        clock: Clock,
        spooler: ReceiptSpooler,
        reversals: ReversalForwarder,
        receipt_key: Ed25519PrivateKey,
    ) -> None:
        self.config = config
        self._committer = committer
        self._link = link
        self._clock = clock
        self._spooler = spooler
        self._reversals = reversals
        self._receipt_key = receipt_key

    async def exchange(
        self,
        row: Row[Any],
        request: Message,
        chip: tuple[SimulatedCard, IccData] | None = None,
    ) -> Outcome:
        """Send the request of the recorded attempt `row` and settle its outcome; for a
        chip attempt, an approval stands only if the card accepts the issuer's ARPC."""
        try:
            response = await self.send(request)
        except LinkError as error:
            # Certainly not sent: the authority never saw it.
            return await self._finish(row, Event.NOT_FOUND, None, f"not sent: {error}")
        except MacFailure as error:
            # An answer came but cannot be trusted: reversed, not queried.
            log.warning("attempt %s answer unusable: %s", row.local_ref, error)
            return await self._reverse(row, str(error), REVERSAL_BAD_MAC)
        except OutcomeUnknown as error:
            log.warning("attempt %s outcome unknown: %s", row.local_ref, error)
            return await self._resolve_unknown(row, str(error), chip)
        return await self._settle_answer(row, response, chip)

    async def send(self, request: Message) -> Message:
        """The host's answer to an attempt's `request`. A 94 tells nothing of the outcome
        (see the module docstring), so it is raised as `OutcomeUnknown`."""
        response = await self._link.exchange(request, timeout=self.config.response_timeout)
        if response.get("39") == DUPLICATE_TRANSMISSION:
            raise OutcomeUnknown("the host holds this request unanswered (94)")
        return response

    async def _settle_answer(
        self,
        row: Row[Any],
        response: Message,
        chip: tuple[SimulatedCard, IccData] | None,
    ) -> Outcome:
        """End the attempt on the host's answer `response` (first, or from a status query)."""
        event, usable, reason = judge(row, response)
        if event is Event.TIME_OUT:
            log.warning("attempt %s response unusable: %s", row.local_ref, reason)
            return await self._reverse(row, reason)
        if event is Event.APPROVE and chip is not None:
            failure = issuer_authentication_failure(chip, response)
            if failure is not None:
                log.warning("attempt %s approved but %s: reversing", row.local_ref, failure)
                return await self._reverse(row, failure, REVERSAL_ISSUER_AUTH_FAILED)
        return await self._finish(row, event, usable, reason)

    async def query_status(self, attempt_id: int, *, timeout: float | None = None) -> StatusReport:
        """Ask the host what became of attempt `attempt_id` (0600/0610; see
        `terminal.status_query`). Changes nothing in the journal but the STAN counter, and
        moves no money anywhere; waits `timeout` (default `status_query_timeout`) seconds."""
        terminal_id = self.config.terminal_id

        def take(connection: Connection) -> tuple[Row[Any], str]:
            return journal.attempt(connection, attempt_id), journal.next_stan(
                connection, terminal_id
            )

        attempt, stan = await self._committer.run(take)
        request = status_request(
            attempt, self.config.merchant_id, stan, transmission_field(self._clock.now())
        )
        wait = self.config.status_query_timeout if timeout is None else timeout
        try:
            response = await self._link.exchange(request, timeout=wait)
        except (LinkError, OutcomeUnknown) as error:
            return StatusReport(Status.FAILED, None, f"status query unanswered: {error}")
        return read_status_answer(attempt, request, response)

    async def _resolve_unknown(
        self, row: Row[Any], reason: str, chip: tuple[SimulatedCard, IccData] | None
    ) -> Outcome:
        """No answer came: record the attempt UNKNOWN, then resolve it by a status query,
        and reverse it only when the query cannot tell."""
        now = self._clock.now()
        await self._committer.run(
            lambda connection: journal.record_unknown(connection, row.id, reason, now)
        )
        report = await self.query_status(row.id)
        log.info(
            "status query for attempt %s: %s (%s)", row.local_ref, report.status, report.detail
        )
        if report.status is Status.DONE and report.answer is not None:
            outcome = await self._settle_answer(row, report.answer, chip)
        elif report.status is Status.NOT_FOUND:
            answer = {"39": "25"}  # the host's not-found, as its tombstone records it
            outcome = await self._finish(row, Event.NOT_FOUND, answer, report.detail)
        else:
            outcome = await self._reverse(row, f"{reason}; {report.detail}")
        return dataclasses.replace(outcome, status_queries=1)

    async def _reverse(
        self, row: Row[Any], reason: str, reason_code: str = REVERSAL_NO_RESPONSE
    ) -> Outcome:
        """The outcome is unknown: decide the reversal durably, then send it once now."""
        now = self._clock.now()

        def decide(connection: Connection) -> int:
            journal.record_unknown(connection, row.id, reason, now)
            return int(reversals.queue_reversal(connection, row.id, reason_code, now).id)

        reversal_id = await self._committer.run(decide)
        await self._reversals.send(reversal_id, tries=1)
        done = await self._committer.read(lambda connection: journal.attempt(connection, row.id))
        return outcome_of(done, None, 0, 0)

    def _record_more(
        self, connection: Connection, done: Row[Any], response: Message | None
    ) -> Row[Any]:
        """What else of the answer the outcome's unit records (a QR settler: the wallet's)."""
        return done

    async def _finish(
        self, row: Row[Any], event: Event, response: Message | None, reason: str
    ) -> Outcome:
        now = self._clock.now()
        balance = None
        if response is not None and "54" in response:
            balance = read_balance_field(response["54"])
        config, receipt_key = self.config, self._receipt_key

        def finish(connection: Connection) -> tuple[Row[Any], list[int]]:
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
            done = self._record_more(connection, done, response)
            jobs: list[int] = []
            if State(done.state) is State.APPROVED and done.original_id is not None:
                journal.apply_to_original(connection, done, now)
            if State(done.state) is State.APPROVED and Kind(done.kind).moves_money:
                jobs = store_receipts(connection, done, config, receipt_key, now)
            return done, jobs

        done, jobs = await self._committer.run(finish)
        # Through the queue: older pending jobs first, then this attempt's, in order.
        drained = await self._spooler.drain() if jobs else None
        ours = {(Source.RECEIPT, receipt_id) for receipt_id in jobs}
        printed = len(ours.intersection(drained.printed_jobs)) if drained else 0
        pending = len(ours.intersection(drained.left_jobs)) if drained else 0
        return outcome_of(done, balance, printed, pending)
