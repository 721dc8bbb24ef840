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

An attempt whose response never came is never declined on a guess: its money may
have moved. It is recorded UNKNOWN (durable), then the terminal asks the host with a
status query (`Terminal.query_status`, `terminal.status_query`, short timeout): a done
answer ends the attempt exactly as the first answer would have (judged, ARPC checked,
receipts stored and printed); not found ends it DECLINED (the host refuses the request
if it arrives late); anything else — in progress, no answer, an odd answer — moves it to
REVERSAL_PENDING with a reversal queued (`terminal.reversals`), sent at once. An answer
that came but is unusable (bad MAC, wrong MTI or amount, ARPC rejected) is reversed
without a query. A restart between the two units finds the attempt UNKNOWN and queues
its reversal when the terminal opens. Queued
reversals go out again before every transaction and at sign-in
(`terminal.store_and_forward`); an attempt a restart left SENT is queued for reversal
(reason 06) when the terminal opens.

Receipts and slips a printer fault left unprinted are printed by the print queue
(`terminal.printing`), after the reversals, before every transaction and at sign-in;
a new attempt's receipts go through the same queue, so they print after older ones.
Reprints (authorised, marked, audited; `terminal.reprints`) go through it too.

A prepaid card pays, is refunded and is asked for its balance like any card; the
programme's own operations (issue, activate, top up, freeze, unfreeze) are
`Terminal.prepaid` (`terminal.prepaid`), card attempts on the same path.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection

from pospay.clock import Clock
from pospay.errors import (
    LinkError,
    OriginalNotFound,
    OutcomeUnknown,
)
from pospay.iso8583 import Message, qr_data
from pospay.iso8583.fields import (
    transmission_field,
)
from pospay.iso8583.messages import (
    SIGN_IN_CODE,
)
from pospay.money import Money
from pospay.printer import ReceiptPrinter
from pospay.qr.customer_codes import Wallet
from pospay.receipts import ReceiptCopy
from pospay.security.keys import RandomBytes, WorkingKeys, decrypt_under, read_working_keys_field
from pospay.storage import Committer
from pospay.terminal import journal, keys, reversals
from pospay.terminal.attempt_records import (
    card_attempt_record,
    follow_up_record,
    full_card_request,
    generate_ac,
    qr_attempt_record,
)
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.link import HostLink
from pospay.terminal.operators import Credentials, Operator, Operators, SupervisorPolicy
from pospay.terminal.outcome import Outcome
from pospay.terminal.prepaid import PrepaidCounter
from pospay.terminal.printing import DrainResult, PendingPrint, ReceiptSpooler
from pospay.terminal.qr_payments import (
    QrDisplay,
    QrSettler,
    customer_code,
    qr_expiry_field,
    qr_request,
)
from pospay.terminal.receipt_chain import process_receipt_key
from pospay.terminal.reprints import BOTH_COPIES, ReprintOutcome, Reprints
from pospay.terminal.requests import follow_up_request
from pospay.terminal.secure_link import MacLink
from pospay.terminal.settlement import BatchSettlement, SettlementOutcome
from pospay.terminal.settling import AttemptSettler
from pospay.terminal.status_query import StatusReport
from pospay.terminal.store_and_forward import ReversalForwarder, ReversalStatus, Sleep
from pospay.transaction import Kind, Method
from pospay.transaction.follow_ups import ORIGINAL_KIND

log = logging.getLogger(__name__)


class Terminal:
    """One payment terminal. Storage, host link, clock and printer are injected."""

    def __init__(
        self,
        config: TerminalConfig,
        committer: Committer,
        link: HostLink,
        clock: Clock,
        printer: ReceiptPrinter,
        *,
        sleep: Sleep = asyncio.sleep,
        password_hasher: PasswordHasher | None = None,
        unpredictable: RandomBytes = secrets.token_bytes,
        new_reference: Callable[[], str] | None = None,
        receipt_key: Ed25519PrivateKey | None = None,
    ) -> None:
        self.config = config
        # Signs every receipt document (`terminal.receipt_chain`); `runtime.TerminalNode`
        # keeps it in a file. The default, one key per process, suits tests only.
        self._receipt_key = receipt_key or process_receipt_key()
        self._committer = committer
        # Every financial message goes through the MAC layer, reversals included.
        self._link = MacLink(link)
        self._clock = clock
        self._spooler = ReceiptSpooler(printer, committer, clock, config.terminal_id)
        self._reversals = ReversalForwarder(
            config, committer, self._link, clock, sleep, spooler=self._spooler
        )
        policy = SupervisorPolicy(config.supervisor_kinds, config.reprint_needs_supervisor)
        self.operators = Operators(committer, config.terminal_id, clock, policy, password_hasher)
        self._reprints = Reprints(
            config, committer, clock, self.operators, self._spooler, self._receipt_key
        )
        self._settler = AttemptSettler(
            config, committer, self._link, clock, self._spooler, self._reversals, self._receipt_key
        )
        self._qr = QrSettler(
            config,
            committer,
            self._link,
            clock,
            self._spooler,
            self._reversals,
            self._receipt_key,
            sleep=sleep,
        )
        self._session: Operator | None = None
        # Where the unpredictable numbers (9F37) given to the chip come from.
        self._unpredictable = unpredictable
        # Where each attempt's own reference (`local_ref`) comes from.
        self._new_reference = new_reference or (lambda: unpredictable(16).hex())
        # Issue, activate, top up, freeze and unfreeze prepaid cards (`terminal.prepaid`).
        self.prepaid = PrepaidCounter(
            lambda kind, card, amount, operator, extra: self._card_attempt(
                kind, card, amount, operator=operator, extra=extra
            ),
            lambda card, amount, operator: self.sale(card, amount, operator=operator),
            lambda voucher, operator, supervisor: self.void(
                voucher, operator=operator, supervisor=supervisor
            ),
            config.currency,
        )

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

    async def print_pending(self) -> DrainResult:
        """Print every stored, unprinted receipt and slip of this terminal, in queue
        order, until the printer faults; see `terminal.printing`."""
        return await self._spooler.drain()

    async def pending_receipts(self) -> list[PendingPrint]:
        """(voucher, copy, created_at) of every stored job not yet printed, queue order."""
        return await self._spooler.pending()

    async def _before_attempt(self) -> None:
        """What goes out before every transaction: a sign-in if the host refused our
        MAC keys, queued reversals, then pending prints."""
        if self._link.keys_rejected:
            try:
                code = await self.sign_in()  # flushes the reversals and prints itself
            except (LinkError, OutcomeUnknown) as error:
                log.warning("sign-in to renew refused keys failed: %s", error)
            else:
                if code == "00":
                    return
        await self.flush_reversals()
        await self.print_pending()

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
        await self.print_pending()
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

    async def reprint_last(
        self,
        *,
        supervisor: Credentials | None = None,
        operator: str | None = None,
        copies: tuple[ReceiptCopy, ...] = BOTH_COPIES,
    ) -> ReprintOutcome:
        """Reprint the last receipt, marked and audited (see `terminal.reprints`)."""
        return await self._reprints.receipt(self.operator_id(operator), None, supervisor, copies)

    async def reprint(
        self,
        voucher: str,
        *,
        supervisor: Credentials | None = None,
        operator: str | None = None,
        copies: tuple[ReceiptCopy, ...] = BOTH_COPIES,
    ) -> ReprintOutcome:
        """Reprint the receipt with this voucher number (or RRN), marked and audited."""
        return await self._reprints.receipt(self.operator_id(operator), voucher, supervisor, copies)

    async def reprint_settlement(
        self, *, supervisor: Credentials | None = None, operator: str | None = None
    ) -> ReprintOutcome:
        """Reprint the last settlement slip, marked and audited."""
        return await self._reprints.settlement(self.operator_id(operator), supervisor)

    async def settle(
        self, supervisor: Credentials | None = None, *, operator: str | None = None
    ) -> SettlementOutcome:
        """End of day: settle the current batch with the host (see `terminal.settlement`)."""
        supervisor_id = await self.require(Kind.SETTLEMENT, supervisor)
        await self._before_attempt()
        settlement = BatchSettlement(
            self.config, self._committer, self._link, self._clock, self._spooler
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
        extra: Message | None = None,
    ) -> Outcome:
        supervisor_id = await self.require(kind, supervisor)
        await self._before_attempt()
        now = self._clock.now()
        emv = None
        if card.icc is not None:
            emv = generate_ac(card.icc, self.config, kind, amount, now, self._unpredictable(4))
        record = card_attempt_record(
            self.config,
            kind,
            card,
            amount,
            now,
            operator=self.operator_id(operator),
            supervisor=supervisor_id,
            emv=emv,
            local_ref=self._new_reference(),
        )
        row = await self._committer.run(
            lambda connection: journal.record_attempt(connection, record, now)
        )
        request = full_card_request(
            self.config, kind, card, amount, row, self._clock.now(), self._link.keys, emv
        )
        if target_pan is not None:
            request["103"] = target_pan
        request |= extra or {}
        chip = None if card.icc is None or emv is None else (card.icc, emv)
        return await self._settler.exchange(row, request, chip)

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
        await self._before_attempt()
        if amount is None:
            amount = Money(original.amount_minor, original.currency)
        now = self._clock.now()
        record = follow_up_record(
            kind,
            original,
            amount,
            now,
            operator=self.operator_id(operator),
            supervisor=supervisor_id,
            local_ref=self._new_reference(),
        )
        row = await self._committer.run(
            lambda connection: journal.record_attempt(connection, record, now)
        )
        request = follow_up_request(self.config, kind, amount, row, original, now)
        return await self._settler.exchange(row, request)

    async def pay_by_code(
        self, code: str, amount: Money, *, operator: str | None = None
    ) -> Outcome:
        """A sale paid with the customer's payment code (scanned or typed; see
        `terminal.qr_payments`). A code that is no wallet's raises `BadQrCode` first."""
        found = customer_code(code)
        return await self._qr_sale(
            Method.QR_CUSTOMER, found.wallet, amount, operator, {qr_data.CODE: code.strip()}
        )

    async def pay_by_qr(
        self, wallet: Wallet, amount: Money, display: QrDisplay, *, operator: str | None = None
    ) -> Outcome:
        """A sale paid by the customer scanning the terminal's dynamic QR on `display`."""
        return await self._qr_sale(Method.QR_MERCHANT, wallet, amount, operator, {}, display)

    async def _qr_sale(
        self,
        method: Method,
        wallet: Wallet,
        amount: Money,
        operator: str | None,
        fields: dict[str, str],
        display: QrDisplay | None = None,
    ) -> Outcome:
        await self._before_attempt()
        now = self._clock.now()
        record = qr_attempt_record(
            self.config,
            method,
            wallet.value,
            amount,
            now,
            operator=self.operator_id(operator),
            local_ref=self._new_reference(),
        )
        row = await self._committer.run(
            lambda connection: journal.record_attempt(connection, record, now)
        )
        window = self.config.qr_poll_window
        if method is Method.QR_MERCHANT:
            window = self.config.qr_expiry
            expires = now + timedelta(seconds=window)
            fields = {qr_data.WALLET: wallet.value, qr_data.EXPIRES: qr_expiry_field(expires)}
        request = qr_request(row, self.config, method, fields)
        return await self._qr.pay(row, request, window=window, display=display, wallet=wallet)

    async def query_status(self, attempt_id: int, *, timeout: float | None = None) -> StatusReport:
        """Ask the host what became of attempt `attempt_id` (0600/0610; see
        `terminal.status_query`). Changes nothing in the journal but the STAN counter, and
        moves no money anywhere; waits `timeout` (default `status_query_timeout`) seconds."""
        return await self._settler.query_status(attempt_id, timeout=timeout)
