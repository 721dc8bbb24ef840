"""What the card reader hands the engine. The PAN lives here, in memory, for one attempt.

A chip or contactless read brings the card itself (`icc`): the engine asks it for an
ARQC over the attempt's data just before the request is built, and has it check the
issuer's ARPC afterwards. A magnetic-stripe read brings the track 2 equivalent data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pospay.cards import validate_pan
from pospay.cards.track2 import read_track2, track2_equivalent
from pospay.emv import CHIP_METHODS, SimulatedCard
from pospay.errors import InvalidCard, MessageFormatError
from pospay.transaction import Method


class PersonalisedCard(Protocol):
    """What a card read needs to know of a test card (`issuer.TestCard` is one)."""

    @property
    def pan(self) -> str: ...
    @property
    def expiry(self) -> str: ...
    @property
    def psn(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CardRead:
    pan: str = field(repr=False)
    expiry: str  # YYMM
    method: Method = Method.CARD_CHIP
    sequence: str = "001"  # field 23: the PAN sequence number, 3 digits
    # The PIN the cardholder entered for online verification, if any: in memory only.
    pin: str | None = field(default=None, repr=False)
    # The chip of a chip or contactless read, asked for the cryptogram of the attempt.
    icc: SimulatedCard | None = None
    # Track 2 equivalent data of a magnetic-stripe read: sent in field 35, never kept.
    track2: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        validate_pan(self.pan)
        if len(self.expiry) != 4 or not self.expiry.isdigit():
            raise InvalidCard("expiry must be YYMM digits")
        if len(self.sequence) != 3 or not self.sequence.isdigit():
            raise InvalidCard("the card sequence number is 3 digits")
        if self.pin is not None and not (4 <= len(self.pin) <= 12 and self.pin.isdigit()):
            raise InvalidCard("a PIN is 4 to 12 digits")
        if self.icc is not None and (self.icc.pan != self.pan or self.icc.psn != self.sequence[1:]):
            raise InvalidCard("the chip's PAN and sequence number differ from the read")
        if self.track2 is not None:
            try:
                track = read_track2(self.track2)
            except MessageFormatError:
                raise InvalidCard("track 2 is not PAN=YYMM and service code") from None
            if (track.pan, track.expiry) != (self.pan, self.expiry):
                raise InvalidCard("track 2 differs from the card number or expiry")

    @classmethod
    def for_test_card(
        cls, card: PersonalisedCard, method: Method = Method.CARD_CHIP, *, pin: str | None = None
    ) -> CardRead:
        """A read of a (test) card by `method`, as a reader would deliver it: the chip for
        chip and contactless, track 2 for the magnetic stripe, neither for manual entry."""
        icc = SimulatedCard(card.pan, card.psn) if method in CHIP_METHODS else None
        track2 = (
            track2_equivalent(card.pan, card.expiry) if method is Method.CARD_MAGSTRIPE else None
        )
        return cls(card.pan, card.expiry, method, f"0{card.psn}", pin=pin, icc=icc, track2=track2)
