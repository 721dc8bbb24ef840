"""The host's QR payments: a sale by a customer's payment code or by the terminal's QR,
routed to its wallet, with the steps of a card sale (`host.service`), each durable first.

1. validate (field 48, `iso8583.qr_data`); a code that is no wallet's is declined 14 here,
   before any wallet hears of it;
2. record the request SENT with its RRN and the order number `PP<rrn>`
   (`host.wallet_routing`): the wallet's idempotency key, saved before the first call;
3. customer-presented: the wallet's micropay / trade.pay; merchant-presented: its
   precreate (the terminal then shows the QR, built from the order number);
4. record the answer, then respond: paid 00 (approval code: the end of the wallet's
   trade number), refused with the reason's code (51, 14, 05), no answer in time 91 and
   UNKNOWN (the recovery job resolves it with the wallet), and while the payer pays or
   the QR waits to be scanned **09**: the row stays SENT and the terminal polls.

Polling is the status query (0600): before the host answers one naming a QR sale still
SENT, `refresh` asks the wallet (orderquery / trade.query) and records a final answer
it gets, so the 0610 says done. A merchant-presented order's payment also arrives as the
wallet's signed notification (`notify`): verified with the wallet's key (a bad signature
is refused and changes nothing), it approves a row still SENT; a duplicate, or one for a
row already final, changes nothing. A terminal that gives up (its deadline, or the QR's
expiry) reverses (0400): the reversal desk cancels the order at the wallet through
`WalletRoutedChannel`, and whatever the wallet did last — closed, or paid and so revoked —
is what the journal ends with.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.exc import IntegrityError

from pospay.channels import CardResult
from pospay.channels.wallet import IN_PROGRESS, WalletAnswer, WalletChannel, WalletStatus
from pospay.clock import Clock
from pospay.errors import BadInput, IllegalTransition, LinkError, MessageFormatError
from pospay.host import journal
from pospay.host.responses import IN_PROGRESS as IN_PROGRESS_CODE
from pospay.host.responses import card_response, wallet_answer_field
from pospay.host.settings import HostSettings
from pospay.host.tables import host_journal
from pospay.host.wallet_routing import card_result, order_number
from pospay.iso8583 import Message, qr_data
from pospay.iso8583.fields import read_amount
from pospay.iso8583.messages import ENTRY_MODES, QR_SALE_REQUIRED, read_original_data_field
from pospay.iso8583.qr_data import read_qr_field
from pospay.qr.customer_codes import CustomerCode, Wallet, classify
from pospay.storage import Committer
from pospay.transaction import Event, Kind, Method, State

log = logging.getLogger(__name__)

QR_ENTRY = {ENTRY_MODES[method][:2]: method for method in (Method.QR_CUSTOMER, Method.QR_MERCHANT)}
SUBJECT = "pospay"
CLOSE_GRACE = timedelta(seconds=10)


def is_qr_request(request: Message) -> bool:
    return request.get("22", "")[:2] in QR_ENTRY and "37" not in request


@dataclass(frozen=True, slots=True)
class NotificationAnswer:
    """What the host answers a wallet's notification: HTTP status and body."""

    status: int
    body: bytes
    detail: str


class WalletDesk:
    def __init__(
        self,
        committer: Committer,
        wallets: Mapping[Wallet, WalletChannel],
        clock: Clock,
        settings: HostSettings,
        replay: Callable[[Message], Awaitable[Message]],
    ) -> None:
        self._committer = committer
        self._wallets = wallets
        self._clock = clock
        self._settings = settings
        self._replay = replay

    async def authorise(self, kind: Kind, request: Message) -> Message:
        """The 0210 to a QR sale (see the module docstring)."""
        if kind is not Kind.SALE:
            raise MessageFormatError("a QR payment is a sale (processing code 000000)", field="3")
        for required in QR_SALE_REQUIRED:
            if required not in request:
                raise MessageFormatError(
                    f"field {required} is required in a QR sale", field=required
                )
        method = QR_ENTRY[request["22"][:2]]
        fields = read_qr_field(request.get("48", ""))
        amount = read_amount(request)
        code, wallet, decline = "", None, None
        expires_at = None
        if method is Method.QR_CUSTOMER:
            code = fields.get(qr_data.CODE, "")
            found = classify(code)
            if isinstance(found, CustomerCode):
                wallet = found.wallet
            else:
                decline = ("14", f"not a payment code: {found.reason_en}")
        else:
            try:
                wallet = Wallet(fields.get(qr_data.WALLET, ""))
                expires_at = datetime.strptime(
                    fields[qr_data.EXPIRES], qr_data.EXPIRY_FORMAT
                ).replace(tzinfo=UTC)
            except (ValueError, KeyError):
                raise MessageFormatError(
                    "field 48 must name the wallet (02) and the QR's expiry (07)", field="48"
                ) from None
        if decline is None and wallet not in self._wallets:
            decline = ("57", f"no channel to {wallet} here")
        if decline is None and amount.minor <= 0:
            decline = ("13", "a QR payment needs a positive amount")
        record = journal.RequestRecord(
            terminal_id=request["41"],
            stan=request["11"],
            transmission_at=request["7"],
            merchant_id=request["42"],
            mti=request["t"],
            processing_code=request["3"],
            kind=kind,
            method=method,
            amount_minor=amount.minor,
            currency=amount.currency,
            pan_masked="",
            pan_ref="",
            batch=request["60"][:6],
            pos_entry_mode=request["22"],
            wallet=None if wallet is None else wallet.value,
        )
        now = self._clock.now()

        def record_it(connection: Connection) -> Row[Any]:
            # Not signed in (58) or a batch the host has settled (77) wins over the rest.
            admitted = journal.admission(
                connection, record.terminal_id, record.merchant_id, record.batch
            )
            refusal = admitted or decline
            if refusal is not None:
                return journal.record_local_decline(connection, record, *refusal, now)
            row = journal.record_request(connection, record, now)
            connection.execute(
                update(host_journal)
                .where(host_journal.c.id == row.id)
                .values(wallet_order=order_number(row.rrn))
            )
            return journal.request_row(connection, row.id)

        try:
            row = await self._committer.run(record_it)
        except IntegrityError:
            return await self._duplicate(request)
        if row.response_code is not None:
            return card_response(row)
        assert wallet is not None
        channel = self._wallets[wallet]
        try:
            if method is Method.QR_CUSTOMER:
                call = channel.pay(row.wallet_order, code, amount, SUBJECT)
            else:
                assert expires_at is not None
                # The wallet keeps the order a little longer than the QR shows it: the
                # terminal's own cancel at the expiry decides, not a race with the wallet.
                closes = expires_at + CLOSE_GRACE
                call = channel.precreate(row.wallet_order, amount, SUBJECT, closes)
            answer: WalletAnswer | None = await asyncio.wait_for(
                call, self._settings.channel_timeout
            )
        except TimeoutError:
            answer = None
        except (LinkError, BadInput) as error:
            log.warning("wallet %s refused or unreachable: %s", wallet.value, error)
            result = CardResult(row.rrn, "91", None, None, f"{wallet.value}: {error}")
            done = await self._committer.run(
                lambda connection: _record(connection, row.id, Event.DECLINE, result, None, now)
            )
            return card_response(done)
        done = await self._record_answer(row, answer)
        response = card_response(done)
        if done.response_code == IN_PROGRESS_CODE:
            response["48"] = wallet_answer_field(done, channel.merchant_id)
        return response

    async def refresh(self, request: Message) -> None:
        """Before a status query is answered: a QR sale it names that is still SENT is
        asked about at its wallet, and a final answer recorded (see the module docstring)."""
        try:
            _, stan, transmission_at = read_original_data_field(request.get("90", ""))
        except MessageFormatError:
            return  # the status query itself answers 30
        terminal_id = request.get("41", "")
        row = await self._committer.read(
            lambda connection: journal.find_request(connection, terminal_id, stan, transmission_at)
        )
        if row is None or row.wallet is None or State(row.state) is not State.SENT:
            return
        try:
            answer = await asyncio.wait_for(
                self._wallets[Wallet(row.wallet)].query(row.wallet_order),
                self._settings.channel_timeout,
            )
        except (TimeoutError, LinkError, BadInput) as error:
            log.info("status of %s at the wallet unknown: %s", row.wallet_order, error)
            return
        if answer is not None and answer.status not in IN_PROGRESS:
            await self._record_answer(row, answer)

    async def notify(self, wallet: Wallet, body: bytes) -> NotificationAnswer:
        """A wallet's notification (see the module docstring); nothing changes unless its
        signature verifies and it pays a row still SENT."""
        channel = self._wallets.get(wallet)
        reader = getattr(channel, "read_notification", None)
        if reader is None:
            return NotificationAnswer(404, b"", f"no channel to {wallet.value}")
        try:
            answer: WalletAnswer = reader(body)
        except BadInput as error:
            log.warning("notification from %s refused: %s", wallet.value, error)
            return NotificationAnswer(400, b"", str(error))
        row = await self._committer.read(
            lambda connection: connection.execute(
                select(host_journal).where(
                    host_journal.c.wallet_order == answer.order_no,
                    host_journal.c.wallet == wallet.value,
                )
            ).first()
        )
        if row is None:
            return NotificationAnswer(404, b"", f"no order {answer.order_no}")
        if answer.status is not WalletStatus.PAID:
            # A closed order is notified too (it was cancelled): nothing to record.
            return NotificationAnswer(200, _ACK[wallet], f"{answer.status.value}: nothing to do")
        if State(row.state) is State.SENT:
            await self._record_answer(row, answer)
            return NotificationAnswer(200, _ACK[wallet], "recorded")
        return NotificationAnswer(200, _ACK[wallet], f"already {row.state}: nothing changed")

    async def _record_answer(self, row: Row[Any], answer: WalletAnswer | None) -> Row[Any]:
        now = self._clock.now()
        if answer is None:
            result = CardResult(row.rrn, "91", None, None, "no answer from the wallet in time")
            event: Event | None = Event.TIME_OUT
        elif answer.status in IN_PROGRESS:
            event = None
            result = CardResult(row.rrn, IN_PROGRESS_CODE, None, None, "the payer is paying")
        else:
            result = card_result(row.rrn, answer)
            event = Event.APPROVE if result.response_code == "00" else Event.DECLINE
        return await self._committer.run(
            lambda connection: _record(connection, row.id, event, result, answer, now)
        )

    async def _duplicate(self, request: Message) -> Message:
        """A QR sale sent again: one still being paid is answered 09 from its row (its
        terminal is polling), anything else as a card request's duplicate is."""
        key = (request["41"], request["11"], request["7"])
        row = await self._committer.read(lambda connection: journal.find_request(connection, *key))
        if row is not None and State(row.state) is State.SENT and row.response_code is not None:
            return card_response(row)
        return await self._replay(request)


_ACK = {
    Wallet.ALIPAY: b"success",
    Wallet.WECHAT: b"<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>",
}


def _record(
    connection: Connection,
    row_id: int,
    event: Event | None,
    result: CardResult,
    answer: WalletAnswer | None,
    now: datetime,
) -> Row[Any]:
    """Record the wallet's answer on journal row `row_id`: `event` moves its state (None:
    it stays SENT, answered 09); a row recovery moved meanwhile stays as it is."""
    current = journal.request_row(connection, row_id)
    if event is None:
        if State(current.state) is State.SENT:
            connection.execute(
                update(host_journal)
                .where(host_journal.c.id == row_id)
                .values(response_code=result.response_code, reason=result.reason)
            )
        return journal.request_row(connection, row_id)
    try:
        journal.record_outcome(
            connection,
            row_id,
            event,
            response_code=result.response_code,
            auth_code=result.auth_code,
            balance_minor=None,
            reason=result.reason,
            now=now,
        )
    except IllegalTransition:
        log.info("late %s for %s left it %s", event.value, current.rrn, current.state)
        return current
    if answer is not None and (answer.trade_no or answer.payer_masked):
        journal.record_wallet_payment(connection, row_id, answer.trade_no, answer.payer_masked)
    return journal.request_row(connection, row_id)
