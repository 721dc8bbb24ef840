"""The wallet simulator's order book: socket-free, on its own database (`storage.Committer`).

Every operation is one durable unit, so an answer is never given before what it says is
committed. Orders are keyed by the merchant's order number within a wallet and merchant:
a repeated request finds the order it made and answers from it (idempotency). Time is
read from the injected clock, and it works lazily: an order whose payer confirms at
`confirm_at`, or that expires at `expires_at`, is moved on by whichever unit next looks at
it (or by `advance_due`), so the simulator needs no timers to be correct and runs the
same on the chaos simulation's virtual time.

Money moves between the payer's balance and the merchant in the same unit as the order's
status: paying debits the payer (conditionally: never below zero), a cancel of a paid
order (REVOKED) and a refund credit it back. `wallets.statements` reads the books back:
the merchant's daily bill, and the money standing per reference for the auditor.

A cancel of an order number the wallet never saw records it CLOSED (amount 0), so a pay
request arriving late under that number is refused. Refunds, and their undoing, live in
`wallets.refunds`; the rows and balances every unit reads and moves in `wallets.rows`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from pospay.clock import Clock
from pospay.errors import BadInput
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.storage import Committer
from pospay.wallets.orders import FINAL, Status, Step, advance
from pospay.wallets.payers import (
    PAYERS_BY_NUMBER,
    TEST_PAYERS,
    Behaviour,
    Notification,
    TestPayer,
    payer_number,
)
from pospay.wallets.refunds import RefundView, give_refund, refund_view, undo_refund
from pospay.wallets.rows import credit, debit, find_order, find_refund, order_row
from pospay.wallets.statements import BillLine, bill_lines
from pospay.wallets.tables import (
    wallet_code,
    wallet_notification,
    wallet_order,
    wallet_payer,
)

# How long a payer asked for the password has before the wallet closes the order.
PASSWORD_WINDOW = timedelta(seconds=120)
# When a notification the merchant did not acknowledge is sent again: after the n-th
# failed delivery, wait NOTIFY_BACKOFF[n] seconds (WeChat Pay's schedule, shortened).
NOTIFY_BACKOFF = (15.0, 15.0, 30.0, 180.0, 600.0, 1800.0, 3600.0)
LATE_NOTIFICATION = timedelta(seconds=60)
WALLETS = (Wallet.ALIPAY, Wallet.WECHAT)


class UnknownOrder(BadInput):
    """A payer's app named an order the wallet does not have."""


@dataclass(frozen=True, slots=True)
class OrderView:
    """What the wallet says about one order."""

    wallet: Wallet
    merchant_id: str
    order_no: str
    scene: str
    status: Status
    amount: Money
    trade_no: str | None
    payer_masked: str | None
    failure: str | None
    reason: str
    refunded: Money
    created_at: datetime
    paid_at: datetime | None
    expires_at: datetime | None
    # The test behaviour "never answers": the edge must not answer this call.
    silent: bool = False


@dataclass(frozen=True, slots=True)
class DueNotification:
    notification_id: int
    order: OrderView
    notify_url: str
    copies: int
    attempts: int


class WalletCore:
    """The order book of every wallet the simulator runs. Storage and clock injected."""

    def __init__(
        self,
        committer: Committer,
        clock: Clock,
        *,
        payers: Sequence[TestPayer] = TEST_PAYERS,
        currency: str = "CNY",
    ) -> None:
        self._committer = committer
        self._clock = clock
        self._payers = tuple(payers)
        self._currency = currency

    async def install_test_payers(self) -> None:
        """Open every test payer in every wallet, once (later calls change nothing)."""

        def work(connection: Connection) -> None:
            for wallet in WALLETS:
                for payer in self._payers:
                    payer_id = payer.payer_id(wallet)
                    found = connection.execute(
                        select(wallet_payer.c.payer_id).where(wallet_payer.c.payer_id == payer_id)
                    ).first()
                    if found is None:
                        connection.execute(
                            insert(wallet_payer).values(
                                payer_id=payer_id,
                                wallet=wallet.value,
                                payer_masked=payer.masked(wallet),
                                currency=payer.opening.currency,
                                opening_minor=payer.opening.minor,
                                balance_minor=payer.opening.minor,
                            )
                        )

        await self._committer.run(work)

    # --- the merchant's side -----------------------------------------------------------

    async def pay(
        self, wallet: Wallet, merchant_id: str, order_no: str, code: str, amount: Money
    ) -> OrderView:
        """Take `amount` with the customer's payment `code` (Alipay trade.pay, WeChat
        micropay). A repeated order number answers from the order it made."""
        return await self._committer.run(
            lambda connection: self._pay(connection, wallet, merchant_id, order_no, code, amount)
        )

    async def precreate(
        self,
        wallet: Wallet,
        merchant_id: str,
        order_no: str,
        amount: Money,
        *,
        expires_at: datetime,
        notify_url: str | None,
    ) -> OrderView:
        """Open an order for the merchant's QR code (Alipay precreate, WeChat NATIVE)."""

        def work(connection: Connection) -> OrderView:
            found = find_order(connection, wallet, merchant_id, order_no)
            if found is not None:
                return self._view(connection, self._settle_time(connection, found))
            row = self._insert_order(
                connection,
                wallet,
                merchant_id,
                order_no,
                "qr",
                amount,
                Status.WAITING,
                expires_at=expires_at,
                notify_url=notify_url,
            )
            return self._view(connection, row)

        return await self._committer.run(work)

    async def query(self, wallet: Wallet, merchant_id: str, order_no: str) -> OrderView | None:
        """The order as it stands now, or None if the wallet never saw the number."""

        def work(connection: Connection) -> OrderView | None:
            found = find_order(connection, wallet, merchant_id, order_no)
            if found is None:
                return None
            return self._view(connection, self._settle_time(connection, found))

        return await self._committer.run(work)

    async def cancel(self, wallet: Wallet, merchant_id: str, order_no: str) -> OrderView:
        """Close an unpaid order, give a paid one's money back (revoke), or record a number
        never seen as closed so that a late payment under it is refused."""

        def work(connection: Connection) -> OrderView:
            found = find_order(connection, wallet, merchant_id, order_no)
            if found is None:
                row = self._insert_order(
                    connection,
                    wallet,
                    merchant_id,
                    order_no,
                    "code",
                    Money(0, self._currency),
                    Status.CLOSED,
                    reason="cancelled before it arrived",
                )
                return self._view(connection, row)
            row = self._settle_time(connection, found)
            status = Status(row.status)
            if status is Status.PAID:
                left = row.amount_minor - row.refunded_minor
                credit(connection, row.payer_id, left)
            reason = "cancelled: the money went back to the payer" if status is Status.PAID else ""
            row = self._step(connection, row, Step.CANCEL, reason=reason or "cancelled unpaid")
            return self._view(connection, row)

        return await self._committer.run(work)

    async def refund(
        self, wallet: Wallet, merchant_id: str, order_no: str, refund_no: str, amount: Money
    ) -> RefundView:
        """Give `amount` of a paid order back to its payer, once per refund number."""
        clock, currency = self._clock, self._currency
        return await self._committer.run(
            lambda connection: give_refund(
                connection, clock.now(), currency, wallet, merchant_id, order_no, refund_no, amount
            )
        )

    async def query_refund(
        self, wallet: Wallet, merchant_id: str, refund_no: str
    ) -> RefundView | None:
        def work(connection: Connection) -> RefundView | None:
            found = find_refund(connection, wallet, merchant_id, refund_no)
            return None if found is None else refund_view(connection, found, self._currency)

        return await self._committer.read(work)

    async def cancel_refund(self, wallet: Wallet, merchant_id: str, refund_no: str) -> RefundView:
        """Undo a refund the merchant gave up on (pospay's extension, see the module
        docstring); a number never seen is recorded cancelled, so a late refund is refused."""
        clock, currency = self._clock, self._currency
        return await self._committer.run(
            lambda connection: undo_refund(
                connection, clock.now(), currency, wallet, merchant_id, refund_no
            )
        )

    async def bill(self, wallet: Wallet, merchant_id: str, day: date) -> list[BillLine]:
        """The merchant's statement of `day` (UTC): payments, revocations and refunds."""
        return await self._committer.read(
            lambda connection: bill_lines(connection, wallet, merchant_id, day)
        )

    # --- the payer's side --------------------------------------------------------------

    async def scan(self, wallet: Wallet, merchant_id: str, order_no: str, number: str) -> OrderView:
        """Test payer `number`'s app scanned the merchant's QR of `order_no` and pays it."""

        def work(connection: Connection) -> OrderView:
            found = find_order(connection, wallet, merchant_id, order_no)
            if found is None or found.scene != "qr":
                raise UnknownOrder(f"no QR order {order_no!r} at {wallet.value}")
            row = self._settle_time(connection, found)
            payer = PAYERS_BY_NUMBER.get(number)
            if payer is None:
                raise UnknownOrder(f"no test payer {number!r}")
            if Status(row.status) is Status.WAITING:
                row = self._start_payment(connection, row, payer, wallet)
            return self._view(connection, row)

        return await self._committer.run(work)

    async def advance_due(self) -> int:
        """Move on every order whose payer confirmed or that expired by now; how many."""

        def work(connection: Connection) -> int:
            now = self._clock.now()
            t = wallet_order.c
            rows = connection.execute(
                select(wallet_order)
                .where(
                    t.status.in_([Status.WAITING.value, Status.PAYING.value]),
                    ((t.confirm_at.is_not(None)) & (t.confirm_at <= now))
                    | ((t.expires_at.is_not(None)) & (t.expires_at <= now)),
                )
                .order_by(t.id)
            ).all()
            for row in rows:
                self._settle_time(connection, row)
            return len(rows)

        return await self._committer.run(work)

    # --- notifications -----------------------------------------------------------------

    async def due_notifications(self, limit: int = 50) -> list[DueNotification]:
        def work(connection: Connection) -> list[DueNotification]:
            n, o = wallet_notification.c, wallet_order.c
            rows = connection.execute(
                select(wallet_notification, o.notify_url)
                .join(wallet_order, o.id == n.order_id)
                .where(n.delivered_at.is_(None), n.due_at <= self._clock.now())
                .order_by(n.due_at, n.id)
                .limit(limit)
            ).all()
            return [
                DueNotification(
                    row.id,
                    self._view(connection, order_row(connection, row.order_id)),
                    row.notify_url,
                    row.copies,
                    row.attempts,
                )
                for row in rows
            ]

        return await self._committer.read(work)

    async def notification_delivered(self, notification_id: int) -> None:
        now = self._clock.now()
        await self._committer.run(
            lambda connection: connection.execute(
                update(wallet_notification)
                .where(wallet_notification.c.id == notification_id)
                .values(delivered_at=now, attempts=wallet_notification.c.attempts + 1)
            )
        )

    async def notification_failed(self, notification_id: int, attempts: int) -> None:
        """The merchant did not acknowledge: deliver again after the next backoff."""
        backoff = NOTIFY_BACKOFF[min(attempts, len(NOTIFY_BACKOFF) - 1)]
        due = self._clock.now() + timedelta(seconds=backoff)
        await self._committer.run(
            lambda connection: connection.execute(
                update(wallet_notification)
                .where(wallet_notification.c.id == notification_id)
                .values(due_at=due, attempts=attempts + 1)
            )
        )

    # --- units -------------------------------------------------------------------------

    def _pay(
        self,
        connection: Connection,
        wallet: Wallet,
        merchant_id: str,
        order_no: str,
        code: str,
        amount: Money,
    ) -> OrderView:
        found = find_order(connection, wallet, merchant_id, order_no)
        if found is not None:
            return self._view(connection, self._settle_time(connection, found))
        if amount.minor <= 0:
            raise BadInput(f"a payment needs a positive amount, not {amount}")
        row = self._insert_order(
            connection, wallet, merchant_id, order_no, "code", amount, Status.WAITING
        )
        digest = hashlib.sha256(f"{wallet.value}:{code}".encode()).hexdigest()
        used = connection.execute(
            select(wallet_code.c.order_id).where(wallet_code.c.digest == digest)
        ).first()
        number = payer_number(wallet, code)
        if used is not None:
            row = self._fail(connection, row, "code_used", "the payment code was used already")
        elif number is None:
            row = self._fail(connection, row, "invalid_code", "no payer has this payment code")
        else:
            connection.execute(insert(wallet_code).values(digest=digest, order_id=row.id))
            row = self._start_payment(connection, row, PAYERS_BY_NUMBER[number], wallet)
        behaviour = None if number is None else PAYERS_BY_NUMBER[number].behaviour
        view = self._view(connection, row)
        if behaviour is Behaviour.NEVER_ANSWERS and used is None:
            return OrderView(**{**_fields(view), "silent": True})
        return view

    def _start_payment(
        self, connection: Connection, row: Row[Any], payer: TestPayer, wallet: Wallet
    ) -> Row[Any]:
        """The payer's wallet acts on a WAITING order as the payer's behaviour says."""
        payer_id = payer.payer_id(wallet)
        connection.execute(
            update(wallet_order).where(wallet_order.c.id == row.id).values(payer_id=payer_id)
        )
        row = order_row(connection, row.id)
        if payer.behaviour is Behaviour.REFUSES:
            return self._fail(connection, row, "refused", "refused by the wallet's risk control")
        if payer.behaviour is Behaviour.USERPAYING:
            now = self._clock.now()
            confirm_at = None if payer.delay is None else now + timedelta(seconds=payer.delay)
            expires = now + PASSWORD_WINDOW
            if row.expires_at is not None:
                expires = min(expires, row.expires_at)
            return self._step(
                connection,
                row,
                Step.AWAIT_PAYER,
                confirm_at=confirm_at,
                expires_at=expires,
                reason="waiting for the payer's password",
            )
        return self._take_money(connection, row, Step.PAY)

    def _take_money(self, connection: Connection, row: Row[Any], step: Step) -> Row[Any]:
        if not debit(connection, row.payer_id, row.amount_minor):
            return self._fail(connection, row, "insufficient", "the payer's balance is too low")
        now = self._clock.now()
        trade_no = f"{now:%Y%m%d}{row.wallet[:2].upper()}{row.id:012d}"
        row = self._step(connection, row, step, trade_no=trade_no, paid_at=now, reason="paid")
        self._queue_notification(connection, row)
        return row

    def _settle_time(self, connection: Connection, row: Row[Any]) -> Row[Any]:
        """Apply what happened since the order was last touched: a payer's confirmation
        due by now, then an expiry due by now."""
        now = self._clock.now()
        status = Status(row.status)
        confirm, expiry = row.confirm_at, row.expires_at
        confirmed = confirm is not None and confirm <= now and (expiry is None or confirm < expiry)
        if status is Status.PAYING and confirmed:
            return self._take_money(connection, row, Step.CONFIRM)
        if status in (Status.WAITING, Status.PAYING) and expiry is not None and expiry <= now:
            return self._step(connection, row, Step.EXPIRE, reason="expired unpaid")
        return row

    def _fail(self, connection: Connection, row: Row[Any], failure: str, reason: str) -> Row[Any]:
        if row.scene == "qr":  # a merchant QR stays payable: record why this try failed
            connection.execute(
                update(wallet_order)
                .where(wallet_order.c.id == row.id)
                .values(failure=failure, reason=reason, payer_id=None)
            )
            return order_row(connection, row.id)
        return self._step(connection, row, Step.FAIL, failure=failure, reason=reason)

    def _step(self, connection: Connection, row: Row[Any], step: Step, **values: Any) -> Row[Any]:
        status = advance(Status(row.status), step)
        connection.execute(
            update(wallet_order)
            .where(wallet_order.c.id == row.id)
            .values(status=status.value, updated_at=self._clock.now(), **values)
        )
        return order_row(connection, row.id)

    def _queue_notification(self, connection: Connection, row: Row[Any]) -> None:
        if row.notify_url is None or row.payer_id is None:
            return
        number = row.payer_id.rsplit("-", 1)[-1]
        behaviour = PAYERS_BY_NUMBER[number].notification
        if behaviour is Notification.LOST:
            return
        now = self._clock.now()
        connection.execute(
            insert(wallet_notification).values(
                order_id=row.id,
                due_at=now + LATE_NOTIFICATION if behaviour is Notification.LATE else now,
                copies=2 if behaviour is Notification.DUPLICATED else 1,
                created_at=now,
            )
        )

    # --- rows and views ----------------------------------------------------------------

    def _insert_order(
        self,
        connection: Connection,
        wallet: Wallet,
        merchant_id: str,
        order_no: str,
        scene: str,
        amount: Money,
        status: Status,
        **values: Any,
    ) -> Row[Any]:
        now = self._clock.now()
        order_id = connection.execute(
            insert(wallet_order)
            .values(
                wallet=wallet.value,
                merchant_id=merchant_id,
                order_no=order_no,
                scene=scene,
                amount_minor=amount.minor,
                currency=amount.currency,
                status=status.value,
                created_at=now,
                updated_at=now,
                **values,
            )
            .returning(wallet_order.c.id)
        ).scalar_one()
        return order_row(connection, order_id)

    @staticmethod
    def _view(connection: Connection, row: Row[Any]) -> OrderView:
        masked = None
        if row.payer_id is not None and Status(row.status) in FINAL | {Status.PAYING}:
            masked = connection.execute(
                select(wallet_payer.c.payer_masked).where(wallet_payer.c.payer_id == row.payer_id)
            ).scalar_one()
        return OrderView(
            wallet=Wallet(row.wallet),
            merchant_id=row.merchant_id,
            order_no=row.order_no,
            scene=row.scene,
            status=Status(row.status),
            amount=Money(row.amount_minor, row.currency),
            trade_no=row.trade_no,
            payer_masked=masked,
            failure=row.failure,
            reason=row.reason,
            refunded=Money(row.refunded_minor, row.currency),
            created_at=row.created_at,
            paid_at=row.paid_at,
            expires_at=row.expires_at,
        )


def _fields(view: OrderView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in OrderView.__dataclass_fields__}
