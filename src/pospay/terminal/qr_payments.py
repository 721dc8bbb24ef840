"""QR payments on the terminal: the customer's payment code, and the terminal's own QR.

Customer-presented (`Terminal.pay_by_code`): the scanner (a keyboard wedge: the code
arrives as typed digits) or the cashier gives the code; it is classified first
(`pospay.qr.classify`) and a code that is no wallet's is refused with `BadQrCode` before
anything is recorded or sent. Then, as a card sale: the attempt is recorded SENT, the
0200 (entry mode 032, the code in field 48) goes to the host, and the answer ends it —
approved (the wallet's order number, trade number and masked payer are recorded for the
receipts in the outcome's unit), declined, or **09**: the payer is entering the password.
Then the terminal polls with status queries (0600) at the interval the answer gives,
until the host's answer is final or `qr_poll_window` has passed; then it reverses the
attempt (0400, reason 98), which cancels the order at the wallet. If the payer paid
between the last poll and the cancel, the wallet gives the money back (revoked): the
wallet's last word is the journal's, and no receipt was printed.

Merchant-presented (`Terminal.pay_by_qr`): the 0200 (entry mode 812) asks the host to
open an order at the wallet the cashier chose, with the QR's expiry; the 09 answer
carries the order number, from which the terminal builds its dynamic EMVCo QR
(`qr.build_payload`: the wallet's merchant account template, the amount, the order
reference in 62/05, the expiry in template 80) and shows it (`QrDisplay`). It then polls
the same way until the QR expires, and reverses (the host closes the order). The wallet's
signed notification reaches the host, not the terminal: it makes the next poll final.

A lost answer to the 0200 starts the polling too (the attempt is UNKNOWN meanwhile), as
does a 94 (the host holds the request unanswered: a duplicated copy overtook it);
an answer that cannot be trusted (MAC) is reversed at once, as for cards.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Row, update

from pospay.channels.wallet import MERCHANT_ACCOUNT_GUI
from pospay.errors import BadInput, LinkError, MacFailure, OutcomeUnknown
from pospay.iso8583 import Message, qr_data
from pospay.iso8583.fields import amount_field, local_date_field, local_time_field
from pospay.iso8583.messages import ENTRY_MODES, PROCESSING_CODES, REQUEST_MTI, REVERSAL_BAD_MAC
from pospay.iso8583.qr_data import qr_field, read_qr_field
from pospay.money import Money, currency_numeric
from pospay.qr import MerchantAccount, build_payload
from pospay.qr.customer_codes import CustomerCode, Wallet, classify
from pospay.terminal import journal
from pospay.terminal.answers import judge
from pospay.terminal.outcome import Outcome
from pospay.terminal.settling import AttemptSettler
from pospay.terminal.status_query import Status
from pospay.terminal.store_and_forward import Sleep
from pospay.terminal.tables import terminal_journal
from pospay.transaction import Event, Kind, Method

log = logging.getLogger(__name__)

IN_PROGRESS = "09"
MERCHANT_ACCOUNT_TAG = "26"


class BadQrCode(BadInput):
    """The scanned code is no wallet's payment code; nothing was recorded or sent.
    `message_zh` and `message_en` say why, for the cashier."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


class QrDisplay(Protocol):
    """The screen the customer sees: it shows the merchant QR, then clears it."""

    def show(self, payload: str, expires_at: datetime) -> None: ...

    def clear(self) -> None: ...


def customer_code(code: str) -> CustomerCode:
    """The classified code, or `BadQrCode` saying why it is refused."""
    found = classify(code.strip())
    if isinstance(found, CustomerCode):
        return found
    raise BadQrCode(f"付款码无效：{found.reason_zh}", f"Not a payment code: {found.reason_en}")


def qr_expiry_field(expires_at: datetime) -> str:
    return expires_at.astimezone(UTC).strftime(qr_data.EXPIRY_FORMAT)


def qr_request(row: Row[Any], config: Any, method: Method, fields: dict[str, str]) -> Message:
    """The 0200 of QR sale `row`: no card, field 48 instead (`iso8583.qr_data`)."""
    now_local = row.created_at
    return {
        "t": REQUEST_MTI[Kind.SALE],
        "3": PROCESSING_CODES[Kind.SALE],
        "4": amount_field(row.amount_minor),
        "7": row.transmission_at,
        "11": row.stan,
        "12": local_time_field(now_local),
        "13": local_date_field(now_local),
        "22": ENTRY_MODES[method],
        "25": "00",
        "41": config.terminal_id,
        "42": config.merchant_id,
        "48": qr_field(fields),
        "49": currency_numeric(row.currency),
        "60": row.batch,
    }


class QrSettler(AttemptSettler):
    """An `AttemptSettler` that also polls: see the module docstring."""

    def __init__(self, *args: Any, sleep: Sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleep = sleep

    def _record_more(
        self, connection: Connection, done: Row[Any], response: Message | None
    ) -> Row[Any]:
        if response is None or "48" not in response:
            return done
        fields = read_qr_field(response["48"])
        values = {
            column: fields[tag]
            for column, tag in (
                ("wallet_order", qr_data.ORDER),
                ("wallet_trade_no", qr_data.TRADE_NO),
                ("payer_masked", qr_data.PAYER),
            )
            if fields.get(tag)
        }
        if values:
            connection.execute(
                update(terminal_journal).where(terminal_journal.c.id == done.id).values(**values)
            )
            return journal.attempt(connection, done.id)
        return done

    async def pay(
        self,
        row: Row[Any],
        request: Message,
        *,
        window: float,
        display: QrDisplay | None = None,
        wallet: Wallet | None = None,
    ) -> Outcome:
        """Send QR sale `row` and settle it, polling while the payer pays (`window` s)."""
        deadline = self._clock.monotonic() + window
        interval = 5.0
        try:
            response = await self.send(request)
        except LinkError as error:
            return await self._finish(row, Event.NOT_FOUND, None, f"not sent: {error}")
        except MacFailure as error:
            return await self._reverse(row, str(error), REVERSAL_BAD_MAC)
        except OutcomeUnknown as error:
            now = self._clock.now()
            reason = str(error)
            await self._committer.run(
                lambda connection: journal.record_unknown(connection, row.id, reason, now)
            )
        else:
            event, _, _ = judge(row, response)
            if event is Event.TIME_OUT or response.get("39") != IN_PROGRESS:
                return await self._settle_answer(row, response, None)
            fields = read_qr_field(response.get("48", ""))
            interval = _interval(fields)
            order = fields.get(qr_data.ORDER, "")
            await self._committer.run(
                lambda connection: connection.execute(
                    update(terminal_journal)
                    .where(terminal_journal.c.id == row.id)
                    .values(wallet_order=order or None)
                )
            )
            if display is not None and wallet is not None:
                display.show(self._payload(row, wallet, fields), self._expiry(row))
        try:
            return await self._poll(row, deadline, interval)
        finally:
            if display is not None:
                display.clear()

    async def _poll(self, row: Row[Any], deadline: float, interval: float) -> Outcome:
        polls = 0
        while True:
            await self.sleep(min(interval, max(0.0, deadline - self._clock.monotonic())))
            polls += 1
            report = await self.query_status(row.id)
            if report.status is Status.DONE and report.answer is not None:
                outcome = await self._settle_answer(row, report.answer, None)
                break
            if report.status is Status.NOT_FOUND:
                answer = {"39": "25"}
                outcome = await self._finish(row, Event.NOT_FOUND, answer, report.detail)
                break
            if self._clock.monotonic() >= deadline:
                log.info("QR attempt %s not paid in time: cancelling", row.local_ref)
                outcome = await self._reverse(row, f"not paid in time; {report.detail}")
                break
        return dataclasses.replace(outcome, status_queries=polls)

    def _expiry(self, row: Row[Any]) -> datetime:
        created: datetime = row.created_at
        return created + timedelta(seconds=self.config.qr_expiry)

    def _payload(self, row: Row[Any], wallet: Wallet, fields: dict[str, str]) -> str:
        config = self.config
        name = config.qr_merchant_name or _ascii_name(config.merchant_name)
        return build_payload(
            account=MerchantAccount(
                MERCHANT_ACCOUNT_TAG, MERCHANT_ACCOUNT_GUI[wallet], fields.get(qr_data.MERCHANT, "")
            ),
            merchant_category=config.merchant_category,
            amount=Money(row.amount_minor, row.currency),
            country=config.country_code,
            merchant_name=name,
            merchant_city=config.merchant_city,
            reference=fields.get(qr_data.ORDER, ""),
            expires_at=self._expiry(row),
            terminal_label=row.terminal_id,
        )


def _interval(fields: dict[str, str]) -> float:
    text = fields.get(qr_data.POLL_INTERVAL, "")
    return float(text) if text.isdigit() and 0 < int(text) <= 60 else 5.0


def _ascii_name(name: str) -> str:
    """The Latin part of a bilingual shop name ("浦江便利店 PUJIANG MART" -> "PUJIANG MART")."""
    latin = "".join(char for char in name if char.isascii()).strip()
    return (latin or "POSPAY MERCHANT")[:25]
