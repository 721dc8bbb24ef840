"""Follow-ups: the transaction types that act on an earlier approved attempt.

A void undoes a sale of the same batch; a refund gives back part or all of a sale; a
completion turns a pre-authorisation's hold into a charge; a cancel releases the hold.
This module says, as data, which kind of original each follow-up names and what its
approval does to the original's state; the terminal and the host apply it to their own
journals through `pospay.transaction.apply`, in the unit that records the approval.

>>> event_on_original(Kind.VOID, original_minor=500, refunded_minor=0)
<Event.VOID: 'void'>
>>> event_on_original(Kind.REFUND, original_minor=500, refunded_minor=200) is None
True
>>> event_on_original(Kind.REFUND, original_minor=500, refunded_minor=500)
<Event.REFUND: 'refund'>
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pospay.transaction.kinds import Kind
from pospay.transaction.lifecycle import Event, State

# The follow-up kinds, and the kind of attempt each one names.
ORIGINAL_KIND: Mapping[Kind, Kind] = MappingProxyType(
    {
        Kind.VOID: Kind.SALE,
        Kind.REFUND: Kind.SALE,
        Kind.PREAUTH_COMPLETION: Kind.PREAUTH,
        Kind.PREAUTH_CANCEL: Kind.PREAUTH,
    }
)

# What an approved follow-up does to its original. A refund ends the sale REFUNDED only
# once the refunds add up to the sale; a completion leaves the pre-authorisation
# APPROVED (the completion is the attempt that settles), a cancel ends it VOIDED.
_EVENT: Mapping[Kind, Event | None] = MappingProxyType(
    {
        Kind.VOID: Event.VOID,
        Kind.REFUND: Event.REFUND,
        Kind.PREAUTH_COMPLETION: None,
        Kind.PREAUTH_CANCEL: Event.VOID,
    }
)


def event_on_original(kind: Kind, *, original_minor: int, refunded_minor: int) -> Event | None:
    """The event an approved `kind` applies to its original, or None.

    `refunded_minor` is the total of the original's approved refunds, this one included.
    A kind that is no follow-up (a prepaid top-up linked to the sale that paid it) does
    nothing to the attempt it names.
    """
    event = _EVENT.get(kind)
    if kind is Kind.REFUND and refunded_minor < original_minor:
        return None
    return event


def event_on_reversal(kind: Kind, original_state: State) -> Event | None:
    """The event a reversal of an approved `kind` applies to its original, or None.

    A void or cancel left its original VOIDED and a last refund left it REFUNDED; once
    the follow-up is reversed the money is back where it was, and so is the original.

    >>> event_on_reversal(Kind.VOID, State.VOIDED)
    <Event.REVERSAL_CONFIRMED: 'reversal_confirmed'>
    >>> event_on_reversal(Kind.REFUND, State.APPROVED) is None
    True
    """
    ended = {Event.VOID: State.VOIDED, Event.REFUND: State.REFUNDED}
    event = _EVENT.get(kind)
    if event is None or ended[event] is not original_state:
        return None
    return Event.REVERSAL_CONFIRMED
