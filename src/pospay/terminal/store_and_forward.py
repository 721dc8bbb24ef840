"""Sending queued reversals to the host until each is answered or given up.

The queue itself is durable (`terminal.reversals`); this is the part that talks. A
try that gets no answer, a broken link, or an answer other than 00 (reversed) or 25
(the host never saw the original, so nothing moved) is counted durably. When a
reversal has been tried `TerminalConfig.reversal_retries` times it is `failed`: its
attempt stays REVERSAL_PENDING, an anomaly is logged with the voucher and masked
card number, and the row is kept for reconciliation. In the unit that marks it failed a
reversal-failure slip is stored (`terminal_slip`, `receipts.reversal_failure`), then
printed through the print queue; a printer fault leaves it pending for the next drain,
which prints it before anything else. A failed reversal is not sent again by later
flushes.

A link that cannot reach the host (`LinkError`: certainly not sent) is not a try either:
the reversal never left, and a host that is down for a while must not use up the
tries. The reversal waits for the next flush.

A response that fails its MAC check is not counted as a try: it says the terminal's
keys are out of step with the host's, not that the host refused the reversal. Nor is
a 58: the terminal has no keys the host knows (it never signed in), and the host
refused the reversal without recording anything. Either way the reversal stays
pending for the flush that follows the engine's next sign-in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert

from pospay.clock import Clock
from pospay.errors import LinkError, MacFailure, OutcomeUnknown
from pospay.iso8583.response_codes import NOT_SIGNED_IN
from pospay.money import Money
from pospay.receipts import PAPERS
from pospay.receipts.reversal_failure import ReversalFailureSlipData, render_reversal_failure
from pospay.storage import Committer
from pospay.terminal import journal, reversals
from pospay.terminal.config import TerminalConfig
from pospay.terminal.link import HostLink
from pospay.terminal.printing import ReceiptSpooler
from pospay.terminal.reversals import ReversalState
from pospay.terminal.tables import terminal_slip
from pospay.transaction import Kind

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# 00: reversed; 25: the host never saw the original, so there is nothing to reverse.
CONFIRMING_CODES = frozenset({"00", "25"})


@dataclass(frozen=True, slots=True)
class ReversalStatus:
    """Where one reversal stands after a flush."""

    attempt_id: int
    voucher: str
    reason_code: str
    state: ReversalState
    tries: int
    response_code: str | None
    last_error: str


class ReversalForwarder:
    def __init__(
        self,
        config: TerminalConfig,
        committer: Committer,
        link: HostLink,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        spooler: ReceiptSpooler | None = None,
    ) -> None:
        self._config = config
        self._committer = committer
        self._link = link
        self._clock = clock
        self._sleep = sleep
        # Prints the reversal-failure slip; None: it stays stored for the next drain.
        self._spooler = spooler

    async def flush(self) -> list[ReversalStatus]:
        """Send every pending reversal, oldest first, each until answered or failed."""
        terminal_id = self._config.terminal_id
        pending = await self._committer.read(
            lambda connection: reversals.pending_reversals(connection, terminal_id)
        )
        return [await self.send(reversal_id) for reversal_id in pending]

    async def send(self, reversal_id: int, *, tries: int | None = None) -> ReversalStatus:
        """Send one reversal: at most `tries` times now (all its remaining tries if None),
        pausing `reversal_backoff * 2**n` seconds before the n-th retry."""
        sent = 0
        while True:
            queued, attempt = await self._committer.read(self._loader(reversal_id))
            if queued.state != ReversalState.PENDING or (tries is not None and sent >= tries):
                return _status(queued, attempt)
            if sent:
                await self._sleep(self._config.reversal_backoff * 2 ** (sent - 1))
            sent += 1
            request = reversals.reversal_request(attempt, queued, self._config.merchant_id)
            try:
                response = await self._link.exchange(request, timeout=self._config.response_timeout)
            except MacFailure as error:
                log.warning(
                    "reversal of voucher %s waits for a sign-in: %s", attempt.voucher, error
                )
                return _status(queued, attempt)
            except LinkError as error:
                log.info("reversal of voucher %s not sent: %s", attempt.voucher, error)
                return _status(queued, attempt)
            except OutcomeUnknown as error:
                problem = str(error)
            else:
                code = response.get("39", "")
                if response.get("t") == "0410" and code in CONFIRMING_CODES:
                    await self._committer.run(self._confirmer(reversal_id, code))
                    continue
                if code == NOT_SIGNED_IN:
                    log.warning(
                        "reversal of voucher %s waits for a sign-in: host answered 58",
                        attempt.voucher,
                    )
                    return _status(queued, attempt)
                problem = f"host answered {response.get('t')} with response code {code!r}"
            log.info("reversal of voucher %s not confirmed: %s", attempt.voucher, problem)
            queued = await self._committer.run(self._failure(reversal_id, problem))
            if queued.state == ReversalState.FAILED:
                log.warning(
                    "ANOMALY: reversal of voucher %s (card %s, %s %s) failed after %d tries: "
                    "%s; the attempt stays reversal_pending for reconciliation",
                    attempt.voucher,
                    attempt.pan_masked,
                    attempt.amount_minor,
                    attempt.currency,
                    queued.tries,
                    problem,
                )
                if self._spooler is not None:
                    await self._spooler.drain()

    @staticmethod
    def _loader(reversal_id: int) -> Callable[[Connection], tuple[Row[Any], Row[Any]]]:
        def load(connection: Connection) -> tuple[Row[Any], Row[Any]]:
            queued = reversals.reversal(connection, reversal_id)
            return queued, journal.attempt(connection, queued.journal_id)

        return load

    def _confirmer(self, reversal_id: int, code: str) -> Callable[[Connection], Row[Any]]:
        now = self._clock.now()
        return lambda connection: reversals.record_confirmed(connection, reversal_id, code, now)

    def _failure(self, reversal_id: int, problem: str) -> Callable[[Connection], Row[Any]]:
        now = self._clock.now()
        config = self._config

        def fail(connection: Connection) -> Row[Any]:
            queued = reversals.record_failed_try(
                connection, reversal_id, problem, config.reversal_retries, now
            )
            if queued.state == ReversalState.FAILED:
                _store_failure_slip(connection, config, queued, now)
            return queued

        return fail


def _store_failure_slip(
    connection: Connection, config: TerminalConfig, queued: Row[Any], now: datetime
) -> None:
    """Store the reversal-failure slip of the reversal `queued`, just failed."""
    attempt = journal.attempt(connection, queued.journal_id)
    text, escpos = render_reversal_failure(
        ReversalFailureSlipData(
            merchant_name=config.merchant_name,
            merchant_id=config.merchant_id,
            terminal_id=attempt.terminal_id,
            kind=Kind(attempt.kind),
            voucher=attempt.voucher,
            stan=attempt.stan,
            reversal_stan=queued.stan,
            masked_pan=attempt.pan_masked,
            amount=Money(attempt.amount_minor, attempt.currency),
            at=now,
            reason_code=queued.reason_code,
            tries=queued.tries,
            last_error=queued.last_error,
        ),
        PAPERS[f"{config.paper_mm}mm"],
    )
    connection.execute(
        insert(terminal_slip).values(
            terminal_id=attempt.terminal_id,
            kind="reversal_failed",
            reversal_id=queued.id,
            voucher=attempt.voucher,
            text=text,
            escpos=escpos,
            created_at=now,
        )
    )


def _status(queued: Row[Any], attempt: Row[Any]) -> ReversalStatus:
    return ReversalStatus(
        attempt_id=attempt.id,
        voucher=attempt.voucher,
        reason_code=queued.reason_code,
        state=ReversalState(queued.state),
        tries=queued.tries,
        response_code=queued.response_code,
        last_error=queued.last_error,
    )
