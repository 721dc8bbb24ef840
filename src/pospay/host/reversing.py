"""The host's handling of a terminal's reversal (0400): record, reverse at the channel, answer.

Steps, each durable before the next (`host.service` tells the whole story):

1. record the reversal under its own duplicate key and, in the same unit, decide what
   it means for the original (`host.reversals.record_reversal`; a tombstone when the
   host never saw the original);
2. ask the channel to reverse the original's RRN (idempotent there);
3. record the original REVERSED and the answer 00, then answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError

from pospay.channels import CardChannel
from pospay.clock import Clock
from pospay.errors import MessageFormatError
from pospay.host import journal, reversals, tombstones
from pospay.host.defects import Defect
from pospay.host.responses import reversal_response
from pospay.host.settings import HostSettings
from pospay.iso8583 import Message
from pospay.iso8583.fields import read_amount
from pospay.iso8583.messages import read_original_data_field
from pospay.storage import Committer

log = logging.getLogger(__name__)


class ReversalDesk:
    def __init__(
        self, committer: Committer, channel: CardChannel, clock: Clock, settings: HostSettings
    ) -> None:
        self._committer = committer
        self._channel = channel
        self._clock = clock
        self._settings = settings

    async def reverse(self, request: Message) -> Message:
        """The 0410 to a terminal's 0400 (see the module docstring of `host.service`)."""
        amount = read_amount(request)
        original_mti, original_stan, original_transmission_at = read_original_data_field(
            request["90"]
        )
        record = reversals.ReversalRecord(
            terminal_id=request["41"],
            stan=request["11"],
            transmission_at=request["7"],
            merchant_id=request["42"],
            processing_code=request["3"],
            amount_minor=amount.minor,
            currency=amount.currency,
            batch=request["60"][:6],
            original_mti=original_mti,
            original_stan=original_stan,
            original_transmission_at=original_transmission_at,
            reason_code=request["39"],
        )
        # What the host records for the original's key if it never saw the original.
        unseen = tombstones.unseen_original(
            terminal_id=record.terminal_id,
            merchant_id=record.merchant_id,
            original_mti=original_mti,
            original_stan=original_stan,
            original_transmission_at=original_transmission_at,
            processing_code=record.processing_code,
            amount=amount,
            batch=record.batch,
        )
        now = self._clock.now()
        key = (record.terminal_id, record.stan, record.transmission_at)
        row = None
        for _ in range(2):
            try:
                row = await self._committer.run(
                    lambda connection: reversals.record_reversal(connection, record, unseen, now)
                )
                break
            except IntegrityError:
                row = await self._committer.read(
                    lambda connection: reversals.find_reversal(connection, *key)
                )
                if row is not None:
                    log.info("repeated reversal %s/%s", key[0], key[1])
                    break
                # Not a repeat: the original arrived while its tombstone was being
                # recorded. Deciding again finds it.
        if row is None:
            raise MessageFormatError("duplicate key vanished", field="11")
        if row.response_code is not None:
            return reversal_response(row)

        original_id = row.original_id
        original = await self._committer.read(
            lambda connection: journal.request_row(connection, original_id)
        )
        if Defect.FORGET_PENDING_REVERSAL not in self._settings.defects:
            refusal = await self._reverse_at_channel(row, original.rrn)
            if refusal is not None:
                return refusal
        reversal_id = row.id
        done = await self._committer.run(
            lambda connection: reversals.confirm_reversal(
                connection, reversal_id, self._clock.now()
            )
        )
        return reversal_response(done)

    async def _reverse_at_channel(self, row: Row[Any], rrn: str) -> Message | None:
        """Reverse `rrn` at the channel; None once it is reversed, else the 0410 to send."""
        try:
            result = await asyncio.wait_for(
                self._channel.reverse(rrn), self._settings.channel_timeout
            )
        except TimeoutError:
            # Not answered, so not stored: the terminal sends the reversal again.
            return reversal_response(row, "91")
        if result.response_code != "00":
            log.warning("channel refused reversal of %s: %s", rrn, result.reason)
            return reversal_response(row, result.response_code)
        return None
