"""The prepaid ledger as the host's channel: `PrepaidLedger` implements `CardChannel`.

The host is the issuer of its prepaid cards, so the ledger lives in the host's own
database and is called in the host's process; the host's journal, duplicate detection,
reversals, status query, recovery and settlement treat it like any card channel. Each
request is one unit of work on the host's `Committer`, so the answer is durable with
what it did before the host records it. With several host processes on PostgreSQL a
unit that loses a race (the same reference, the same funding sale) is rolled back and
run again (`storage.races`), and then finds the winner's answer.

Besides the channel protocol, `owns` and `reverse_own` tell `channels.routing` whether a
reference is the programme's, so that the host's one channel can route reversals and
status queries, which name only a reference.
"""

from __future__ import annotations

import logging

from pospay.channels import CardAuthorisation, CardResult
from pospay.clock import Clock
from pospay.iso8583.response_codes import APPROVED
from pospay.prepaid import answers
from pospay.prepaid.operations import Desk, answer_request
from pospay.prepaid.programme import TEST_PROGRAMME, Programme
from pospay.prepaid.reversal import reverse_reference
from pospay.storage import Committer
from pospay.storage.races import run_retrying

log = logging.getLogger(__name__)


class PrepaidLedger:
    """The programme's cards and books, answering as a `channels.CardChannel`."""

    def __init__(
        self,
        committer: Committer,
        clock: Clock,
        pan_key: bytes,
        programme: Programme = TEST_PROGRAMME,
    ) -> None:
        self._committer = committer
        self._clock = clock
        self._desk = Desk(programme, pan_key)
        self.programme = programme

    def owns_card(self, pan: str) -> bool:
        """Whether `pan` is one of the programme's card numbers (by BIN)."""
        return self.programme.owns(pan)

    async def authorise(self, request: CardAuthorisation) -> CardResult:
        """Decide and carry out `request`; a repeated reference gets the first answer."""
        desk = self._desk
        result = await run_retrying(
            self._committer,
            lambda conn: answer_request(conn, desk, request, self._clock.now()),
        )
        log.info("prepaid %s %s: %s", request.kind.value, result.reference, result.response_code)
        return result

    async def reverse(self, reference: str) -> CardResult:
        """Undo what `reference` did; idempotent, "00" once nothing is moved. A reference
        never seen leaves a tombstone, so a late request with it is refused."""
        result, _ = await self.reverse_own(reference)
        return result

    async def reverse_own(self, reference: str) -> tuple[CardResult, bool]:
        """`reverse`, and whether the programme had received a request with `reference`."""
        stored = await self._committer.read(lambda conn: answers.find_answer(conn, reference))
        if stored is not None and stored.tombstone:
            # Reversed before: the tombstone stands, and a read is all a repeat costs. A
            # tombstone is final, so no unit is needed to learn it again.
            return CardResult(reference, APPROVED, None, None, "reversed before it arrived"), False
        currency = self.programme.currency
        result, owned = await run_retrying(
            self._committer,
            lambda conn: reverse_reference(conn, reference, currency, self._clock.now()),
        )
        log.info("prepaid reversal %s: %s", reference, result.reason)
        return result, owned

    async def query(self, reference: str) -> CardResult | None:
        """The answer stored for `reference`, or None if the programme never saw it."""
        stored = await self._committer.read(lambda conn: answers.find_answer(conn, reference))
        return None if stored is None else stored.result()

    async def owns(self, reference: str) -> bool:
        """Whether the programme received a request with `reference` (not just its reversal)."""
        stored = await self._committer.read(lambda conn: answers.find_answer(conn, reference))
        return stored is not None and not stored.tombstone
