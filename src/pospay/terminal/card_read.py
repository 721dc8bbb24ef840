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
    # The PIN the cardholder entered for online verification, if any: in memory only.
    pin: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        validate_pan(self.pan)
        if len(self.expiry) != 4 or not self.expiry.isdigit():
            raise InvalidCard("expiry must be YYMM digits")
        if self.pin is not None and not (4 <= len(self.pin) <= 12 and self.pin.isdigit()):
            raise InvalidCard("a PIN is 4 to 12 digits")
