"""One channel for the host, two behind it: the card issuer, and the host's own prepaid
programme for the card numbers of its BIN ranges.

The host keeps one `CardChannel` and knows nothing of routing. A request is routed by
its card number; a follow-up (a refund) carries none and goes where its original
went, which the programme can tell (`owns`). A reversal or a status query names only a
reference, so the programme is asked first: a reference it received is its own and
goes nowhere else. Otherwise the programme still records a tombstone for it
(`reverse_own`) before the issuer is asked to reverse: a request of either channel may
be in flight at that moment, and the tombstone is what refuses it when it lands.
"""

from __future__ import annotations

from typing import Protocol

from pospay.channels.card import CardAuthorisation, CardChannel, CardResult


class OwnChannel(CardChannel, Protocol):
    """A channel that can say which references and card numbers are its own."""

    def owns_card(self, pan: str) -> bool:
        """Whether requests for `pan` go to this channel."""
        ...

    async def owns(self, reference: str) -> bool:
        """Whether this channel received a request with `reference`."""
        ...

    async def reverse_own(self, reference: str) -> tuple[CardResult, bool]:
        """Reverse `reference` (a tombstone when never seen); and whether it was received."""
        ...


class RoutedChannel:
    """A `CardChannel` sending each request to `own` or to `cards`, as the module says."""

    def __init__(self, cards: CardChannel, own: OwnChannel) -> None:
        self._cards = cards
        self._own = own

    async def authorise(self, request: CardAuthorisation) -> CardResult:
        if request.pan:
            own = self._own.owns_card(request.pan)
        else:
            original = request.original_reference
            own = original is not None and await self._own.owns(original)
        channel = self._own if own else self._cards
        return await channel.authorise(request)

    async def reverse(self, reference: str) -> CardResult:
        result, owned = await self._own.reverse_own(reference)
        if owned:
            return result
        return await self._cards.reverse(reference)

    async def query(self, reference: str) -> CardResult | None:
        if await self._own.owns(reference):
            return await self._own.query(reference)
        found = await self._cards.query(reference)
        return found if found is not None else await self._own.query(reference)
