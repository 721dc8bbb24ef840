"""Blank card stock: the numbered, unissued cards a shop keeps for its customers.

A prepaid card exists as plastic before it is issued: its number (from the programme's
BIN range, Luhn-valid) and expiry are printed on it and written to its stripe, and the
programme registers it only when a terminal issues it (`Kind.PREPAID_ISSUE`). So the
card number travels from the terminal to the host like any card's, never back, and a
terminal's journal, the host's and the programme's keep only its masked form and
keyed reference. `blank_cards` makes such stock from a seeded generator, for the demo,
the chaos simulation and the tests.

>>> import random
>>> from pospay.cards import luhn_valid
>>> from pospay.prepaid.programme import TEST_PROGRAMME
>>> card = blank_cards(TEST_PROGRAMME, random.Random(1), 1, expiry="2912")[0]
>>> TEST_PROGRAMME.owns(card.pan) and luhn_valid(card.pan)
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from pospay.cards import with_check_digit
from pospay.prepaid.programme import Programme


@dataclass(frozen=True, slots=True)
class BlankCard:
    """A card of the stock: what its stripe holds. The PAN lives only in memory."""

    pan: str = field(repr=False)
    expiry: str  # YYMM
    psn: str = "00"  # the stock is stripe-only: no chip, so PAN sequence number 00


def expiry_after(moment: datetime, months: int) -> str:
    """The expiry (YYMM) `months` after the month of `moment`, as stock is printed.

    >>> from datetime import UTC
    >>> expiry_after(datetime(2026, 11, 3, tzinfo=UTC), 24)
    '2811'
    """
    index = moment.year * 12 + moment.month - 1 + months
    return f"{index // 12 % 100:02d}{index % 12 + 1:02d}"


def blank_cards(
    programme: Programme, rng: random.Random, count: int, *, expiry: str
) -> list[BlankCard]:
    """`count` distinct blank cards of `programme`, numbered from `rng`."""
    bin_ = programme.bins[0]
    digits = programme.pan_length - len(bin_) - 1
    numbers: set[str] = set()
    cards: list[BlankCard] = []
    while len(cards) < count:
        body = bin_ + "".join(rng.choice("0123456789") for _ in range(digits))
        if body in numbers:
            continue
        numbers.add(body)
        cards.append(BlankCard(with_check_digit(body), expiry))
    return cards
