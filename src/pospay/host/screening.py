"""What the host checks in a card request before it records or forwards anything."""

from __future__ import annotations

from pospay.cards import luhn_valid
from pospay.cards.track2 import read_track2
from pospay.errors import MessageFormatError
from pospay.iso8583 import Message
from pospay.iso8583.messages import method_of
from pospay.money import Money
from pospay.transaction import Kind, Method


def local_decline(kind: Kind, request: Message, amount: Money) -> tuple[str, str] | None:
    """(response code, reason) when the host itself must decline a card request."""
    pan = request["2"]
    if not luhn_valid(pan) or not 13 <= len(pan) <= 19:
        return ("14", "card number fails the Luhn check or has the wrong length")
    if kind.moves_money and amount.minor <= 0:
        return ("13", f"a {kind.value} must be for a positive amount")
    if kind is Kind.TRANSFER:
        target = request["103"]
        if not luhn_valid(target) or not 13 <= len(target) <= 19:
            return ("14", "target card number fails the Luhn check or has the wrong length")
        if target == pan:
            return ("12", "a transfer needs two different cards")
    return None


def check_track2(request: Message) -> None:
    """A magnetic-stripe request must carry track 2 (field 35), and track 2 must name the
    card and expiry of fields 2 and 14; otherwise the request is a format error (30).
    Track 2 is read here, in memory, and never stored or logged."""
    if "35" not in request:
        if method_of(request) is Method.CARD_MAGSTRIPE:
            raise MessageFormatError("a magnetic-stripe request needs field 35", field="35")
        return
    track = read_track2(request["35"])
    if (track.pan, track.expiry) != (request.get("2"), request.get("14")):
        raise MessageFormatError("track 2 differs from fields 2 and 14", field="35")
