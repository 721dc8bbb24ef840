"""The life of a payment attempt, as one pure state machine.

Rule 1: everything that decides a state or a transition of an attempt lives in this
file. The terminal, the host, the recovery jobs and the simulation all call `apply`;
none of them assigns a state by hand. There is no I/O here: the caller persists the
state it gets back *before* it acts on it (sends, answers, prints).

Theory of operation
-------------------
An attempt is born CREATED: its identifiers and amount are durable, nothing has been
sent. SEND moves it to SENT just before the request leaves. The answer moves it to
APPROVED or DECLINED. When no answer comes (timeout, drop, crash), it is UNKNOWN: the
money may or may not have moved, and the attempt must be resolved — by a status query
(APPROVE / DECLINE / NOT_FOUND) or by a reversal (REVERSE, then REVERSAL_CONFIRMED).

An approved attempt later ends VOIDED (same batch), REFUNDED (fully), REVERSED, or
SETTLED at end of day. A late answer never resurrects an attempt: an approval that
arrives after the reversal was decided leaves it where it is, and the caller must
make sure the reversal reaches the authority (see `LATE_APPROVAL_STATES`).

Final states are those no recovery job needs to touch. After the system quiesces,
every attempt is in a final state (invariant 1 of SPEC.md).
"""

from __future__ import annotations

from enum import StrEnum

from pospay.errors import IllegalTransition


class State(StrEnum):
    CREATED = "created"
    SENT = "sent"
    APPROVED = "approved"
    DECLINED = "declined"
    UNKNOWN = "unknown"
    REVERSAL_PENDING = "reversal_pending"
    REVERSED = "reversed"
    VOIDED = "voided"
    REFUNDED = "refunded"
    SETTLED = "settled"


class Event(StrEnum):
    SEND = "send"
    APPROVE = "approve"
    DECLINE = "decline"
    TIME_OUT = "time_out"
    NOT_FOUND = "not_found"
    REVERSE = "reverse"
    REVERSAL_CONFIRMED = "reversal_confirmed"
    VOID = "void"
    REFUND = "refund"
    SETTLE = "settle"


S, E = State, Event

# The whole machine. A pair missing from this table is an illegal transition.
TRANSITIONS: dict[tuple[State, Event], State] = {
    # Sending, and answers to what was sent.
    (S.CREATED, E.SEND): S.SENT,
    (S.CREATED, E.DECLINE): S.DECLINED,  # refused locally, never sent
    (S.SENT, E.APPROVE): S.APPROVED,
    (S.SENT, E.DECLINE): S.DECLINED,
    (S.SENT, E.TIME_OUT): S.UNKNOWN,
    # Resolving an unknown outcome by status query.
    (S.UNKNOWN, E.APPROVE): S.APPROVED,
    (S.UNKNOWN, E.DECLINE): S.DECLINED,
    (S.UNKNOWN, E.NOT_FOUND): S.DECLINED,  # the authority never saw it: no money moved
    (S.SENT, E.NOT_FOUND): S.DECLINED,
    (S.CREATED, E.NOT_FOUND): S.DECLINED,  # crash between record and send
    # Reversal: decided (and persisted) first, confirmed later.
    (S.CREATED, E.REVERSE): S.REVERSAL_PENDING,
    (S.SENT, E.REVERSE): S.REVERSAL_PENDING,
    (S.UNKNOWN, E.REVERSE): S.REVERSAL_PENDING,
    (S.APPROVED, E.REVERSE): S.REVERSAL_PENDING,  # e.g. the response failed its MAC
    (S.REVERSAL_PENDING, E.REVERSAL_CONFIRMED): S.REVERSED,
    (S.REVERSAL_PENDING, E.REVERSE): S.REVERSAL_PENDING,  # retry of the same reversal
    (S.REVERSED, E.REVERSE): S.REVERSED,  # duplicate reversal: idempotent
    (S.REVERSED, E.REVERSAL_CONFIRMED): S.REVERSED,
    # Late answers never resurrect a reversed attempt.
    (S.REVERSAL_PENDING, E.APPROVE): S.REVERSAL_PENDING,
    (S.REVERSAL_PENDING, E.DECLINE): S.REVERSAL_PENDING,
    (S.REVERSED, E.APPROVE): S.REVERSED,
    (S.REVERSED, E.DECLINE): S.REVERSED,
    (S.REVERSAL_PENDING, E.TIME_OUT): S.REVERSAL_PENDING,  # the original's answer never came
    (S.REVERSED, E.TIME_OUT): S.REVERSED,
    # A repeated answer (duplicate response, replayed request) changes nothing.
    (S.APPROVED, E.APPROVE): S.APPROVED,
    (S.DECLINED, E.DECLINE): S.DECLINED,
    (S.DECLINED, E.NOT_FOUND): S.DECLINED,
    # After approval.
    (S.APPROVED, E.VOID): S.VOIDED,
    (S.APPROVED, E.REFUND): S.REFUNDED,
    (S.APPROVED, E.SETTLE): S.SETTLED,
    (S.SETTLED, E.REFUND): S.REFUNDED,
    # The void (or cancel) or the last refund that ended an approved attempt was itself
    # reversed: the attempt is approved again (see `transaction.follow_ups`).
    (S.VOIDED, E.REVERSAL_CONFIRMED): S.APPROVED,
    (S.REFUNDED, E.REVERSAL_CONFIRMED): S.APPROVED,
}

FINAL_STATES = frozenset({S.APPROVED, S.DECLINED, S.REVERSED, S.VOIDED, S.REFUNDED, S.SETTLED})

# States in which the authority holds the customer's money for this attempt.
MONEY_MOVED_STATES = frozenset({S.APPROVED, S.SETTLED})

# States in which an approval arriving now must be answered by (re)sending the reversal.
LATE_APPROVAL_STATES = frozenset({S.REVERSAL_PENDING, S.REVERSED})


def apply(state: State, event: Event) -> State:
    """The state after `event`; raises `IllegalTransition` for a pair the table lacks.

    >>> apply(State.CREATED, Event.SEND)
    <State.SENT: 'sent'>
    >>> apply(State.REVERSED, Event.APPROVE)
    <State.REVERSED: 'reversed'>
    """
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state.value, event.value) from None


def moves(event: Event) -> dict[State, State]:
    """Every state `event` may arrive in, and the state it leads to from there: the
    table's rows for one event, for a store that applies it in a single statement.

    >>> moves(Event.VOID)
    {<State.APPROVED: 'approved'>: <State.VOIDED: 'voided'>}
    """
    return {state: target for (state, on), target in TRANSITIONS.items() if on is event}


def is_final(state: State) -> bool:
    """Whether no recovery job needs to touch an attempt in `state`."""
    return state in FINAL_STATES
