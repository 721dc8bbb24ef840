"""What the card reader hands the engine. The PAN lives here, in memory, for one attempt."""

from __future__ import annotations

from dataclasses import dataclass, field

from pospay.cards import validate_pan
from pospay.errors import InvalidCard
from pospay.transaction import Method


@dataclass(frozen=True, slots=True)
class CardRead:
    pan: str = field(repr=False)
    expiry: str  # YYMM
    method: Method = Method.CARD_CHIP
    sequence: str = "001"

    def __post_init__(self) -> None:
        validate_pan(self.pan)
        if len(self.expiry) != 4 or not self.expiry.isdigit():
            raise InvalidCard("expiry must be YYMM digits")
