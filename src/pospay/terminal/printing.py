"""Printing from stored receipts: after the outcome and its receipts are committed.

A job that prints is marked printed (durably); a printer fault leaves the receipt
stored and unprinted, visible as pending, and never touches the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from pospay.clock import Clock
from pospay.errors import PrinterFault
from pospay.printer import ReceiptPrinter
from pospay.storage import GroupCommitter
from pospay.terminal import journal

log = logging.getLogger(__name__)

# (receipt id, job name, ESC/POS bytes, text)
PrintJob = tuple[int, str, bytes, str]


class ReceiptSpooler:
    def __init__(self, printer: ReceiptPrinter, committer: GroupCommitter, clock: Clock) -> None:
        self._printer = printer
        self._committer = committer
        self._clock = clock

    async def print_jobs(self, jobs: list[PrintJob]) -> int:
        """Print each stored job; returns how many printed."""
        printed = 0
        for receipt_id, name, escpos, text in jobs:
            try:
                self._printer.print_job(name, escpos, text)
            except PrinterFault as fault:
                log.warning("receipt %s stays pending: %s", name, fault)
                continue
            await self._committer.run(_marker(receipt_id, self._clock.now()))
            printed += 1
        return printed


def _marker(receipt_id: int, at: datetime) -> Callable[[Connection], None]:
    return lambda connection: journal.mark_printed(connection, receipt_id, at)
