"""Controlled reprints: the last receipt, a receipt by voucher number, the last
settlement slip. Authorised, marked, audited; the transaction is never touched.

A request goes:

1. authorisation by the supervisor policy (`Operators.require_reprint`: a supervisor's
   id and password unless the merchant's `TerminalConfig.reprint_needs_supervisor` is
   off); a refusal commits its audit row, then raises `NotAuthorised`;
2. in one unit: find what to reprint (`OriginalNotFound` for a voucher or RRN with no
   receipt, `NothingToReprint` when the terminal has none at all: either way the unit
   commits only the refused audit row, and the error is raised after it), store each
   copy and its audit row;
3. print through the print queue (`terminal.printing`), like any stored job.

A receipt copy is the original's signed document read back (`receipt_of_document`, so
it shows what the original showed, whatever became of the attempt since) with the next
reprint number of that copy (1, 2, ...): a new `terminal_receipt` row with
`reprint_number` > 0, signed as the next link of the terminal's chain, and marked
"重打印 REPRINT n" on paper and in text by the receipt layout. A settlement slip copy
is the stored slip with the same banner (`receipts.reprint_mark`), stored as a
`terminal_slip` of kind ``settlement_reprint``, which the queue prints; its number
counts the granted copies of that batch. Every request, granted or refused, leaves one
`terminal_reprint_audit` row.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Row, func, insert, select

from pospay.clock import Clock
from pospay.errors import BadInput, NotAuthorised, NothingToReprint, OriginalNotFound
from pospay.receipts import PAPERS, Receipt, ReceiptCopy, render_escpos, render_text
from pospay.receipts.reprint_mark import mark_copy
from pospay.receipts.sale import CHINA_STANDARD_TIME
from pospay.receipts.signing import qr_payload, receipt_of_document
from pospay.storage import Committer
from pospay.terminal import receipt_chain
from pospay.terminal.config import TerminalConfig
from pospay.terminal.operators import Credentials, Operators
from pospay.terminal.printing import ReceiptSpooler, Source
from pospay.terminal.receipts import build_receipts
from pospay.terminal.tables import (
    terminal_journal,
    terminal_receipt,
    terminal_receipt_document,
    terminal_reprint_audit,
    terminal_settlement,
    terminal_slip,
)

log = logging.getLogger(__name__)

# The order an attempt's copies print in, as its originals did.
BOTH_COPIES = (ReceiptCopy.CUSTOMER, ReceiptCopy.MERCHANT)
SETTLEMENT_REPRINT = "settlement_reprint"


class Target(StrEnum):
    LAST = "last"
    VOUCHER = "voucher"
    SETTLEMENT = "settlement"


class Outcome(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class ReprintOutcome:
    """A granted request: what was stored, and what the print queue did with it."""

    audit_id: int
    voucher: str | None  # the attempt's voucher (None for a settlement slip)
    batch: str
    copies: tuple[tuple[str, int], ...]  # (copy, reprint number), in print order
    supervisor: str | None
    printed: int
    pending: int
    fault: str | None


@dataclass(frozen=True, slots=True)
class _Request:
    terminal_id: str
    operator: str
    target: Target
    reference: str | None
    at: datetime
    supervisor: str | None = None


@dataclass(frozen=True, slots=True)
class _Stored:
    audit_id: int
    voucher: str | None
    batch: str
    copies: tuple[tuple[str, int], ...]
    jobs: tuple[tuple[Source, int], ...]


class Reprints:
    """The reprints of one terminal. Storage, clock, operators and queue are injected."""

    def __init__(
        self,
        config: TerminalConfig,
        committer: Committer,
        clock: Clock,
        operators: Operators,
        spooler: ReceiptSpooler,
        key: Ed25519PrivateKey,
    ) -> None:
        self._config = config
        self._committer = committer
        self._clock = clock
        self._operators = operators
        self._spooler = spooler
        self._key = key

    async def receipt(
        self,
        operator: str,
        reference: str | None,
        supervisor: Credentials | None,
        copies: Sequence[ReceiptCopy] = BOTH_COPIES,
    ) -> ReprintOutcome:
        """Reprint `copies` of the attempt with voucher number or RRN `reference` (None:
        the last attempt with a receipt)."""
        if not copies or len(set(copies)) != len(copies):
            raise BadInput("name each copy to reprint once: customer, merchant or both")
        target = Target.LAST if reference is None else Target.VOUCHER
        request = _Request(self._config.terminal_id, operator, target, reference, self._clock.now())
        request = dataclasses.replace(
            request, supervisor=await self._authorise(request, supervisor)
        )
        config, key, wanted = self._config, self._key, tuple(ReceiptCopy(c) for c in copies)
        result = await self._committer.run(
            lambda connection: _store_receipt_copies(connection, request, config, key, wanted)
        )
        return await self._print(request, result)

    async def settlement(self, operator: str, supervisor: Credentials | None) -> ReprintOutcome:
        """Reprint the last settlement slip of the terminal."""
        request = _Request(
            self._config.terminal_id, operator, Target.SETTLEMENT, None, self._clock.now()
        )
        request = dataclasses.replace(
            request, supervisor=await self._authorise(request, supervisor)
        )
        result = await self._committer.run(
            lambda connection: _store_settlement_copy(connection, request)
        )
        return await self._print(request, result)

    async def _authorise(self, request: _Request, supervisor: Credentials | None) -> str | None:
        try:
            return await self._operators.require_reprint(supervisor)
        except NotAuthorised as error:
            reason = str(error)
            await self._committer.run(
                lambda connection: _audit(connection, request, Outcome.REFUSED, reason=reason)
            )
            log.warning("reprint refused to operator %s: %s", request.operator, error)
            raise

    async def _print(self, request: _Request, result: _Stored | BadInput) -> ReprintOutcome:
        if isinstance(result, BadInput):
            log.warning("reprint refused to operator %s: %s", request.operator, result)
            raise result
        log.info(
            "reprint %s by %s (authorised by %s): %s",
            result.voucher or f"settlement {result.batch}",
            request.operator,
            request.supervisor or "-",
            result.copies,
        )
        drained = await self._spooler.drain()
        printed = len(set(result.jobs).intersection(drained.printed_jobs))
        pending = len(set(result.jobs).intersection(drained.left_jobs))
        return ReprintOutcome(
            result.audit_id,
            result.voucher,
            result.batch,
            result.copies,
            request.supervisor,
            printed,
            pending,
            drained.fault,
        )


def _store_receipt_copies(
    connection: Connection,
    request: _Request,
    config: TerminalConfig,
    key: Ed25519PrivateKey,
    copies: tuple[ReceiptCopy, ...],
) -> _Stored | BadInput:
    attempt = _attempt_with_receipts(connection, request.terminal_id, request.reference)
    if attempt is None:
        error: BadInput = (
            NothingToReprint("receipt")
            if request.reference is None
            else OriginalNotFound("receipt", request.reference)
        )
        _audit(connection, request, Outcome.REFUSED, reason=str(error))
        return error
    originals = _originals(connection, attempt.id)
    missing = [copy.value for copy in copies if copy.value not in originals]
    if missing:
        error = OriginalNotFound(f"{'/'.join(missing)} receipt", attempt.voucher)
        _audit(connection, request, Outcome.REFUSED, journal_id=attempt.id, reason=str(error))
        return error
    paper = PAPERS[f"{config.paper_mm}mm"]
    stored: list[tuple[str, int]] = []
    jobs: list[tuple[Source, int]] = []
    for copy in copies:
        original = originals[copy.value]
        number = _next_number(connection, attempt.id, copy.value)
        receipt = dataclasses.replace(
            _original_receipt(connection, original, attempt, config),
            reprint_number=number,
            seal=None,
        )
        signed = receipt_chain.sign_next(connection, receipt, key)
        sealed = dataclasses.replace(receipt, seal=qr_payload(signed))
        receipt_id = int(
            connection.execute(
                insert(terminal_receipt)
                .values(
                    journal_id=attempt.id,
                    terminal_id=attempt.terminal_id,
                    copy=copy.value,
                    reprint_number=number,
                    text=render_text(sealed, paper),
                    escpos=render_escpos(sealed, paper),
                    created_at=request.at,
                )
                .returning(terminal_receipt.c.id)
            ).scalar_one()
        )
        receipt_chain.store_document(connection, receipt_id, signed, request.at)
        stored.append((copy.value, number))
        jobs.append((Source.RECEIPT, receipt_id))
    audit_id = _audit(
        connection,
        request,
        Outcome.GRANTED,
        journal_id=attempt.id,
        batch=attempt.batch,
        copies=",".join(f"{copy}:{number}" for copy, number in stored),
    )
    return _Stored(audit_id, attempt.voucher, attempt.batch, tuple(stored), tuple(jobs))


def _store_settlement_copy(connection: Connection, request: _Request) -> _Stored | BadInput:
    s = terminal_settlement.c
    slip = connection.execute(
        select(terminal_settlement)
        .where(
            s.terminal_id == request.terminal_id,
            s.state == "settled",
            s.slip_text.is_not(None),
            s.slip_escpos.is_not(None),
        )
        .order_by(s.settled_at.desc(), s.id.desc())
        .limit(1)
    ).first()
    if slip is None:
        error = NothingToReprint("settlement slip")
        _audit(connection, request, Outcome.REFUSED, reason=str(error))
        return error
    a = terminal_reprint_audit.c
    number = 1 + int(
        connection.execute(
            select(func.count()).where(
                a.terminal_id == request.terminal_id,
                a.target == Target.SETTLEMENT.value,
                a.batch == slip.batch,
                a.outcome == Outcome.GRANTED.value,
            )
        ).scalar_one()
    )
    text, escpos = mark_copy(slip.slip_text, slip.slip_escpos, number)
    slip_id = int(
        connection.execute(
            insert(terminal_slip)
            .values(
                terminal_id=request.terminal_id,
                kind=SETTLEMENT_REPRINT,
                text=text,
                escpos=escpos,
                created_at=request.at,
            )
            .returning(terminal_slip.c.id)
        ).scalar_one()
    )
    copies = (("settlement", number),)
    audit_id = _audit(
        connection,
        request,
        Outcome.GRANTED,
        batch=slip.batch,
        copies=f"settlement:{number}",
        slip_id=slip_id,
    )
    return _Stored(audit_id, None, slip.batch, copies, ((Source.SLIP, slip_id),))


def _attempt_with_receipts(
    connection: Connection, terminal_id: str, reference: str | None
) -> Row[Any] | None:
    """The latest attempt of the terminal with original receipts: the one whose voucher
    number (six characters) or RRN (twelve) is `reference`, or any (None)."""
    j, r = terminal_journal.c, terminal_receipt.c
    with_receipts = select(r.journal_id).where(r.reprint_number == 0)
    query = select(terminal_journal).where(j.terminal_id == terminal_id, j.id.in_(with_receipts))
    if reference is not None:
        query = query.where(j.voucher == reference if len(reference) == 6 else j.rrn == reference)
    return connection.execute(query.order_by(j.id.desc()).limit(1)).first()


def _originals(connection: Connection, attempt_id: int) -> dict[str, Row[Any]]:
    r = terminal_receipt.c
    rows = connection.execute(
        select(terminal_receipt).where(r.journal_id == attempt_id, r.reprint_number == 0)
    )
    return {row.copy: row for row in rows}


def _next_number(connection: Connection, attempt_id: int, copy: str) -> int:
    r = terminal_receipt.c
    last = connection.execute(
        select(func.max(r.reprint_number)).where(r.journal_id == attempt_id, r.copy == copy)
    ).scalar_one()
    return int(last or 0) + 1


def _original_receipt(
    connection: Connection, original: Row[Any], attempt: Row[Any], config: TerminalConfig
) -> Receipt:
    """What the original copy showed: its signed document read back; for an original
    stored before receipts were signed, rebuilt from the journal at its own time."""
    d = terminal_receipt_document.c
    document = connection.execute(
        select(d.document).where(d.receipt_id == original.id)
    ).scalar_one_or_none()
    if document is not None:
        return receipt_of_document(json.loads(document))
    customer, merchant = build_receipts(attempt, config)
    chosen = customer if original.copy == ReceiptCopy.CUSTOMER.value else merchant
    return dataclasses.replace(chosen, at=original.created_at.astimezone(CHINA_STANDARD_TIME))


def _audit(
    connection: Connection,
    request: _Request,
    outcome: Outcome,
    *,
    journal_id: int | None = None,
    batch: str | None = None,
    copies: str | None = None,
    slip_id: int | None = None,
    reason: str = "",
) -> int:
    return int(
        connection.execute(
            insert(terminal_reprint_audit)
            .values(
                terminal_id=request.terminal_id,
                operator=request.operator,
                requested_at=request.at,
                target=request.target.value,
                reference=None if request.reference is None else request.reference[:12],
                journal_id=journal_id,
                batch=batch,
                copies=copies,
                slip_id=slip_id,
                supervisor=request.supervisor,
                outcome=outcome.value,
                reason=reason,
            )
            .returning(terminal_reprint_audit.c.id)
        ).scalar_one()
    )
