"""The host recovery job: every host attempt left non-final is resolved with its channel.

A host row stays non-final when the host lost track of it:

- SENT: recorded, then the host crashed before forwarding it, or before recording the
  channel's answer (the host never answered the terminal);
- UNKNOWN: the channel did not answer in time; the host answered the terminal 91;
- REVERSAL_PENDING: a reversal was decided (a terminal's 0400, or this job) but the
  channel's confirmation was never recorded (timeout, or a crash between the two
  units of `HostService._reverse`).

`recover` finds every such row not touched for `grace` seconds (so that it does not
race a request a live host is still handling; at start-up of a single host nothing is
in flight and 0 will do) and resolves it. Every state change goes through
`pospay.transaction.lifecycle` via `storage.transitions.transition`, and every channel
call is idempotent at the channel, so a crash at any point of this job leaves rows that
the next run resolves.

How each row is resolved, and why
---------------------------------
The invariant is "money moved at the issuer ⇔ host approved and not reversed ⇔
terminal approved". The host never answers before its answer is durable, so for a
non-final row the terminal holds no approval: it got no answer (SENT), or 91 (UNKNOWN),
which `terminal.answers.judge` records as a decline — the terminal does *not* reverse
after a 91.

- SENT, the channel's status query finds a stored answer: that answer is applied as if
  it had arrived (APPROVE or DECLINE, with the channel's code, approval code and
  balance, reason "resolved by recovery: ..."); an approved follow-up moves its
  original (`originals.apply_to_original`) as the normal path would. The journal now
  agrees with the issuer. The terminal never got this answer: it is reversing the
  attempt by its own store-and-forward (0400), which `HostService._reverse` handles —
  so an approval applied here is undone by the terminal's reversal, and until then the
  journal says exactly what the issuer holds.
- SENT, the channel never saw it: it must never be authorised later (a forward still in
  flight, or a retry). The row is moved to REVERSAL_PENDING first (durable decision),
  then `channel.reverse` leaves a tombstone at the issuer so that a late authorisation
  with this reference is refused (25), then REVERSAL_CONFIRMED makes it REVERSED. We
  chose REVERSED over NOT_FOUND → DECLINED because it is what the issuer records (a
  reversal), because it is safe even if the authorisation slipped in between the query
  and the reversal (the reversal then undoes it), and because the life cycle maps late
  answers on a reversed row to itself, so nothing can resurrect it.
- UNKNOWN: the terminal was told 91 and has recorded a decline, so no money may stay
  moved. A stored decline (or the tombstone's 25) is applied as DECLINE, keeping the 91
  the terminal got as the row's response code (a replay answers the same; the issuer's
  code goes into the reason). A stored approval, or nothing stored, is reversed as
  above: REVERSAL_PENDING, `channel.reverse` (money back, or tombstone), REVERSED.
- REVERSAL_PENDING: `channel.reverse` again (idempotent), then REVERSAL_CONFIRMED →
  REVERSED in one unit with the answer 00 on every `host_reversal` row of it still
  unanswered; a reversed approved follow-up gives its original its state back
  (`reversals.confirm_original`).

A channel that does not answer a call within `channel_timeout`, or refuses a reversal,
leaves the row as it is for the next run (listed in `RecoveryReport.unresolved`).

Several host processes
----------------------
On PostgreSQL several hosts may run this job at once. The channel calls are idempotent,
and each state change runs in one database unit that first locks the row
(``SELECT ... FOR UPDATE``; SQLite serialises writers with ``BEGIN IMMEDIATE``) and
checks that it is still in the state the job acted on: if another process (or the
request handler) has moved it meanwhile, the unit changes nothing and the row is
counted in `RecoveryReport.skipped`. Two jobs therefore never apply an event twice.
With several processes, `grace` must exceed the host's channel timeout even at
start-up: another live process may be forwarding the request right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, select

from pospay.channels import CardChannel, CardResult
from pospay.clock import Clock
from pospay.errors import IllegalTransition
from pospay.host import originals, reversals
from pospay.host.journal import record_outcome, request_row
from pospay.host.tables import host_journal
from pospay.iso8583.response_codes import APPROVED
from pospay.storage import Committer
from pospay.storage.transitions import transition
from pospay.transaction import Event, State

log = logging.getLogger(__name__)
T = TypeVar("T")

NON_FINAL = (State.SENT, State.UNKNOWN, State.REVERSAL_PENDING)
# What a channel's query answers for an attempt it has not finished (a QR order whose
# payer is still entering the password, `host.wallet_routing`).
STILL_PAYING = "09"
REASON = "resolved by recovery"


@dataclass(frozen=True, slots=True)
class Resolution:
    """One row the job moved to a final state."""

    rrn: str
    was: State
    now: State
    detail: str


@dataclass
class RecoveryReport:
    examined: int = 0
    resolved: list[Resolution] = field(default_factory=list)
    # RRNs the channel did not settle this time (no answer in time, refused reversal).
    unresolved: list[str] = field(default_factory=list)
    # Rows another process or the request handler moved while the job looked at them.
    skipped: int = 0


class _Skipped(Exception):
    """The row is no longer in the state the job acted on."""


async def recover(
    committer: Committer,
    channel: CardChannel,
    clock: Clock,
    *,
    grace: float = 0.0,
    channel_timeout: float = 10.0,
) -> RecoveryReport:
    """Resolve every non-final host row untouched for `grace` seconds (see module doc)."""
    cutoff = clock.now() - timedelta(seconds=grace)
    rows = await committer.read(
        lambda connection: list(
            connection.execute(
                select(host_journal)
                .where(
                    host_journal.c.state.in_([state.value for state in NON_FINAL]),
                    host_journal.c.updated_at <= cutoff,
                )
                .order_by(host_journal.c.id)
            )
        )
    )
    report = RecoveryReport(examined=len(rows))
    job = _Job(committer, channel, clock, channel_timeout)
    for row in rows:
        try:
            resolution = await job.resolve(row)
        except _Skipped:
            report.skipped += 1
            continue
        except (TimeoutError, _Refused) as problem:
            log.warning("recovery: %s left %s for the next run: %s", row.rrn, row.state, problem)
            report.unresolved.append(row.rrn)
            continue
        except IllegalTransition as problem:
            log.warning("recovery: %s left %s: %s", row.rrn, row.state, problem)
            report.unresolved.append(row.rrn)
            continue
        report.resolved.append(resolution)
        log.info(
            "recovery: %s %s -> %s (%s)",
            resolution.rrn,
            resolution.was.value,
            resolution.now.value,
            resolution.detail,
        )
    return report


class _Refused(Exception):
    """The channel refused to reverse."""


class _Job:
    def __init__(
        self, committer: Committer, channel: CardChannel, clock: Clock, timeout: float
    ) -> None:
        self._committer = committer
        self._channel = channel
        self._clock = clock
        self._timeout = timeout

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self._timeout)
        except TimeoutError:
            raise TimeoutError("the channel did not answer in time") from None

    async def resolve(self, row: Row[Any]) -> Resolution:
        state = State(row.state)
        if state is State.REVERSAL_PENDING:
            return await self._finish_reversal(row, "reversal confirmed at the channel")
        stored = await self._call(self._channel.query(row.rrn))
        if stored is not None and stored.response_code == STILL_PAYING:
            # A QR order its payer is still paying: the wallet will finish it (or close it).
            raise _Refused(f"not finished at the channel: {stored.reason}")
        if stored is None:
            detail = "the channel never received it; reversed so a late one is refused"
            return await self._reverse(row, state, detail)
        if stored.response_code != APPROVED:
            return await self._decline(row, state, stored)
        if state is State.UNKNOWN:
            detail = f"approved {stored.auth_code} after the host answered 91; reversed"
            return await self._reverse(row, state, detail)
        return await self._approve(row, stored)

    async def _approve(self, row: Row[Any], stored: CardResult) -> Resolution:
        reason = f"{REASON}: {stored.reason}"

        def work(connection: Connection) -> Row[Any]:
            _claim(connection, row.id, State.SENT)
            done = record_outcome(
                connection,
                row.id,
                Event.APPROVE,
                response_code=stored.response_code,
                auth_code=stored.auth_code,
                balance_minor=None if stored.balance is None else stored.balance.minor,
                reason=reason,
                now=self._clock.now(),
            )
            if done.original_id is not None:
                originals.apply_to_original(connection, done, self._clock.now())
            return done

        done = await self._committer.run(work)
        return Resolution(row.rrn, State.SENT, State(done.state), f"approved {stored.auth_code}")

    async def _decline(self, row: Row[Any], state: State, stored: CardResult) -> Resolution:
        # An UNKNOWN row keeps the 91 the terminal was told (a replay answers the same).
        code = row.response_code if state is State.UNKNOWN else stored.response_code
        reason = f"{REASON}: the channel answered {stored.response_code}: {stored.reason}"

        def work(connection: Connection) -> Row[Any]:
            _claim(connection, row.id, state)
            return record_outcome(
                connection,
                row.id,
                Event.DECLINE,
                response_code=code,
                auth_code=None,
                balance_minor=None if stored.balance is None else stored.balance.minor,
                reason=reason,
                now=self._clock.now(),
            )

        done = await self._committer.run(work)
        return Resolution(row.rrn, state, State(done.state), f"declined {stored.response_code}")

    async def _reverse(self, row: Row[Any], state: State, detail: str) -> Resolution:
        """Decide the reversal durably, then carry it out at the channel."""
        reason = f"{REASON}: {detail}"

        def work(connection: Connection) -> Row[Any]:
            _claim(connection, row.id, state)
            transition(
                connection, host_journal, row.id, Event.REVERSE, self._clock.now(), reason=reason
            )
            return request_row(connection, row.id)

        pending = await self._committer.run(work)
        resolution = await self._finish_reversal(pending, detail)
        return Resolution(row.rrn, state, resolution.now, detail)

    async def _finish_reversal(self, row: Row[Any], detail: str) -> Resolution:
        result = await self._call(self._channel.reverse(row.rrn))
        if result.response_code != APPROVED:
            raise _Refused(f"the channel refused the reversal: {result.response_code}")

        def work(connection: Connection) -> Row[Any]:
            _claim(connection, row.id, State.REVERSAL_PENDING)
            now = self._clock.now()
            done = reversals.confirm_original(connection, row.id, now)
            reversals.answer_open_reversals(connection, row.id, now)
            return done

        done = await self._committer.run(work)
        return Resolution(row.rrn, State.REVERSAL_PENDING, State(done.state), detail)


def _claim(connection: Connection, row_id: int, expected: State) -> None:
    """Lock row `row_id` for this unit; raise `_Skipped` unless it is still `expected`."""
    current = connection.execute(
        select(host_journal.c.state).where(host_journal.c.id == row_id).with_for_update()
    ).scalar_one()
    if State(current) is not expected:
        raise _Skipped(f"row {row_id} is {current} now")


class RecoveryLoop:
    """`recover` once now and then every `interval` seconds, until `stop`."""

    def __init__(
        self,
        committer: Committer,
        channel: CardChannel,
        clock: Clock,
        *,
        interval: float,
        grace: float,
        channel_timeout: float,
    ) -> None:
        self._args = (committer, channel, clock)
        self._interval = interval
        self._grace = grace
        self._channel_timeout = channel_timeout
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    async def run_once(self, grace: float | None = None) -> RecoveryReport:
        report = await recover(
            *self._args,
            grace=self._grace if grace is None else grace,
            channel_timeout=self._channel_timeout,
        )
        self.runs += 1
        if report.examined:
            log.info(
                "recovery: %d examined, %d resolved, %d unresolved, %d skipped",
                report.examined,
                len(report.resolved),
                len(report.unresolved),
                report.skipped,
            )
        return report

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="host-recovery")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.run_once()
            except Exception:  # the job must outlive a failed run; the next one retries
                log.exception("recovery run failed")
