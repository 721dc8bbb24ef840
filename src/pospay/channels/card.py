"""The card channel: what the host asks a card issuer, and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pospay.money import Money
from pospay.transaction import Kind, Method


@dataclass(frozen=True, slots=True)
class CardAuthorisation:
    """One request to the issuer.

    `reference` is chosen by the host and saved in its journal before the request
    is sent; the issuer treats a repeated reference as the same request and answers
    with its first answer (idempotency). The full PAN is here only in memory.
    """

    reference: str
    kind: Kind
    pan: str = field(repr=False)  # empty for a follow-up: the original names the card
    expiry: str  # YYMM; empty for a follow-up
    amount: Money  # zero for a balance inquiry
    merchant_id: str
    terminal_id: str
    at: datetime
    # Online PIN: the ISO 9564 format 0 PIN block under the zone PIN key shared with
    # the issuer; None when the cardholder entered no PIN. Never stored, never logged.
    pin_block: bytes | None = field(default=None, repr=False)
    # A void, refund, completion or cancel: the reference (RRN) of the attempt it acts on.
    original_reference: str | None = None
    # A transfer: the card credited (only in memory, like `pan`).
    target_pan: str | None = field(default=None, repr=False)
    # How the card was read (field 22); None for a follow-up.
    method: Method | None = None
    # Field 23, the PAN sequence number (3 digits): with the PAN it selects the chip's key.
    card_sequence: str = ""
    # Field 55 of a chip or contactless request: the ICC data with the ARQC (BER-TLV).
    icc_data: bytes | None = None


@dataclass(frozen=True, slots=True)
class CardResult:
    reference: str
    response_code: str
    auth_code: str | None  # six characters when approved
    balance: Money | None  # available balance, for inquiries and after approvals
    reason: str  # why, in a sentence, for the journal
    # Tag 91 for a chip request whose ARQC verified: ARPC || ARC, for the card to check.
    issuer_authentication_data: bytes | None = None


class CardChannel(Protocol):
    async def authorise(self, request: CardAuthorisation) -> CardResult:
        """Authorise `request`; the same `reference` always gets the same answer."""
        ...

    async def reverse(self, reference: str) -> CardResult:
        """Undo whatever `reference` moved, answering "00" once nothing is moved.

        Idempotent. A reversal for a reference the channel never saw is remembered, so
        that an authorisation arriving late with that reference is refused.
        """
        ...

    async def query(self, reference: str) -> CardResult | None:
        """The answer the channel stored for `reference`, or None if it never saw it.

        A status query moves nothing. After a reversal of a reference never seen, the
        stored answer is the refusal ("25") a late authorisation would get.
        """
        ...
