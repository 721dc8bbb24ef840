"""How the issuer decides an authorisation before any money moves: rules as data, no I/O.

`screen` applies `RULES` in order and returns the first refusal, or None when the
request may go on to the ledger. The last word on a sale, insufficient funds (51),
belongs to the ledger, because only the database knows the balance at the moment
the money moves.

The order matters and is documented in ``docs/test-cards.md``: an unknown card
declines 14 whatever the amount; a restricted or expired card declines 62 or 54 even
for a magic amount; a magic amount declines with its code before the amount limit,
except 666.91 (`ANSWER_LOST`), which is decided like any amount and then not answered.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from pospay.channels import CardAuthorisation
from pospay.iso8583.response_codes import RESPONSE_CODES
from pospay.issuer.card_file import CardOnFile
from pospay.issuer.test_cards import MAGIC_AMOUNTS, SINGLE_SALE_LIMIT
from pospay.money import currency_exponent
from pospay.transaction import Kind

# What `screen` decides; the follow-ups (void, refund, completion, cancel) are decided
# against their original by `issuer.follow_ups`.
SUPPORTED_KINDS = frozenset({Kind.SALE, Kind.BALANCE_INQUIRY, Kind.PREAUTH, Kind.TRANSFER})


@dataclass(frozen=True, slots=True)
class Refusal:
    """A decline: its response code and why, in a sentence for the issuer's record."""

    code: str
    reason: str


Rule = Callable[[CardAuthorisation, CardOnFile], Refusal | None]


def _restricted(request: CardAuthorisation, card: CardOnFile) -> Refusal | None:
    if card.status == "restricted":
        return Refusal("62", "the card is restricted")
    return None


def _expired(request: CardAuthorisation, card: CardOnFile) -> Refusal | None:
    # A card is valid to the end of its expiry month; YYMM strings sort as dates.
    month = request.at.strftime("%y%m")
    if card.expiry < month:
        return Refusal("54", f"the card expired at the end of {card.expiry} (YYMM)")
    return None


def _wrong_expiry(request: CardAuthorisation, card: CardOnFile) -> Refusal | None:
    if request.expiry != card.expiry:
        return Refusal("54", "the expiry date sent does not match the card's")
    return None


def _unsupported_kind(request: CardAuthorisation, card: CardOnFile) -> Refusal | None:
    if request.kind not in SUPPORTED_KINDS:
        return Refusal("12", f"the issuer does not authorise {request.kind.value}")
    return None


def _wrong_amount(request: CardAuthorisation, card: CardOnFile) -> Refusal | None:
    if request.amount.currency != card.currency:
        return Refusal("13", f"the card holds {card.currency}, not {request.amount.currency}")
    if request.kind.moves_money and request.amount.minor <= 0:
        return Refusal("13", f"a {request.kind.value} needs a positive amount")
    return None


# The magic amount's code whose answer the issuer never gives: the sale is decided as any
# other amount, the answer stored, and `IssuerSimulator.authorise` raises `AnswerLost`.
ANSWER_LOST = "91"


def magic_code(request: CardAuthorisation) -> str | None:
    """The response code a sale of a magic amount (666.xx, two minor digits) asks for."""
    if request.kind is not Kind.SALE or currency_exponent(request.amount.currency) != 2:
        return None
    return MAGIC_AMOUNTS.get(request.amount.minor)


def _magic_amount(request: CardAuthorisation, card: CardOnFile) -> Refusal | None:
    code = magic_code(request)
    if code is None or code == ANSWER_LOST:
        return None
    meaning = RESPONSE_CODES[code].meaning
    return Refusal(code, f"magic amount {request.amount}: {meaning}")


def _over_limit(request: CardAuthorisation, card: CardOnFile) -> Refusal | None:
    if request.kind.moves_money and request.amount.minor > SINGLE_SALE_LIMIT:
        return Refusal("61", f"above the single-sale limit of {SINGLE_SALE_LIMIT} minor units")
    return None


RULES: tuple[Rule, ...] = (
    _restricted,
    _expired,
    _wrong_expiry,
    _unsupported_kind,
    _wrong_amount,
    _magic_amount,
    _over_limit,
)

UNKNOWN_CARD = Refusal("14", "the card is not on the issuer's file")


def screen(request: CardAuthorisation, card: CardOnFile | None) -> Refusal | None:
    """The first refusal `RULES` give for `request` on `card`; None if it may proceed."""
    if card is None:
        return UNKNOWN_CARD
    for rule in RULES:
        refusal = rule(request, card)
        if refusal is not None:
            return refusal
    return None


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def approval_code(reference: str, key: bytes) -> str:
    """A six-character approval code, the same every time for the same reference and key.

    >>> approval_code("000000000001", b"k") == approval_code("000000000001", b"k")
    True
    >>> len(approval_code("000000000001", b"k"))
    6
    """
    digest = hmac.new(key, b"approval-code:" + reference.encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    code = ""
    for _ in range(6):
        number, digit = divmod(number, len(_ALPHABET))
        code += _ALPHABET[digit]
    return code
