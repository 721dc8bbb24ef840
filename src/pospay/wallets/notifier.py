"""Delivering the asynchronous notifications of paid orders, with retries.

`Notifier.run_once` first moves on every order that is due (a payer's confirmation, an
expiry), then delivers every due notification through `deliver` (HTTP in the services,
the faulty link in the simulation), in as many copies as the payer's behaviour says. A
delivery the merchant acknowledged is marked delivered; otherwise it is due again after
the wallet's backoff (`wallets.core.NOTIFY_BACKOFF`). Nothing is lost by a crash: the
outbox is in the database, and a notification delivered twice changes nothing at the
merchant, who must treat duplicates as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from pospay.qr.customer_codes import Wallet
from pospay.wallets.core import DueNotification, WalletCore

log = logging.getLogger(__name__)

# Sends one notification body; True when the merchant acknowledged it.
Deliver = Callable[[str, str, bytes], Awaitable[bool]]


class Notifying(Protocol):
    def notification(self, due: DueNotification) -> tuple[str, bytes]: ...


class Notifier:
    def __init__(
        self, core: WalletCore, gateways: Mapping[Wallet, Notifying], deliver: Deliver
    ) -> None:
        self._core = core
        self._gateways = gateways
        self._deliver = deliver
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0

    async def run_once(self) -> int:
        """Advance due orders and deliver due notifications; how many were acknowledged."""
        await self._core.advance_due()
        acknowledged = 0
        for due in await self._core.due_notifications():
            content_type, body = self._gateways[due.order.wallet].notification(due)
            ok = False
            for _ in range(due.copies):
                try:
                    ok = await self._deliver(due.notify_url, content_type, body) or ok
                except Exception as error:  # a merchant that cannot be reached: retry later
                    log.info("notification %s not delivered: %s", due.notification_id, error)
            if ok:
                await self._core.notification_delivered(due.notification_id)
                acknowledged += 1
            else:
                await self._core.notification_failed(due.notification_id, due.attempts)
        self.delivered += acknowledged
        return acknowledged

    def start(self, interval: float) -> None:
        self._task = asyncio.create_task(self._loop(interval), name="wallet-notifier")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _loop(self, interval: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the loop must outlive one failed round
                log.exception("notifier round failed")
            await asyncio.sleep(interval)
