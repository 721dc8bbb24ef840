"""The transaction state machine, through its public functions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pospay.errors import IllegalTransition
from pospay.transaction import (
    FINAL_STATES,
    MONEY_MOVED_STATES,
    TRANSITIONS,
    Event,
    State,
    apply,
    is_final,
)
from pospay.transaction.lifecycle import LATE_APPROVAL_STATES


def reachable_from_created() -> set[State]:
    seen = {State.CREATED}
    frontier = [State.CREATED]
    while frontier:
        state = frontier.pop()
        for (source, _event), target in TRANSITIONS.items():
            if source is state and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_every_state_is_reachable_from_created() -> None:
    assert reachable_from_created() == set(State)


def test_sale_happy_path() -> None:
    state = apply(State.CREATED, Event.SEND)
    assert state is State.SENT
    assert apply(state, Event.APPROVE) is State.APPROVED
    assert is_final(State.APPROVED)


def test_timeout_leaves_the_outcome_unknown_and_not_final() -> None:
    state = apply(State.SENT, Event.TIME_OUT)
    assert state is State.UNKNOWN
    assert not is_final(state)


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (State.DECLINED, Event.APPROVE),
        (State.CREATED, Event.APPROVE),
        (State.APPROVED, Event.DECLINE),
        (State.VOIDED, Event.SETTLE),
        (State.SETTLED, Event.VOID),
    ],
)
def test_transitions_missing_from_the_table_are_refused(state: State, event: Event) -> None:
    with pytest.raises(IllegalTransition) as raised:
        apply(state, event)
    assert raised.value.state == state.value
    assert raised.value.event == event.value


def test_non_final_states_can_all_be_resolved() -> None:
    """From every non-final state, some sequence of events reaches a final state."""
    for state in set(State) - FINAL_STATES:
        resolved = {target for (source, _), target in TRANSITIONS.items() if source is state}
        assert resolved & FINAL_STATES or any(
            {t for (s, _), t in TRANSITIONS.items() if s is nxt} & FINAL_STATES for nxt in resolved
        ), state


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_a_late_approval_never_resurrects_a_reversal(events: list[Event]) -> None:
    state = State.REVERSAL_PENDING
    for event in events:
        try:
            state = apply(state, event)
        except IllegalTransition:
            continue
        assert state in LATE_APPROVAL_STATES
        assert state not in MONEY_MOVED_STATES


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_declined_is_absorbing(events: list[Event]) -> None:
    state = State.DECLINED
    for event in events:
        try:
            state = apply(state, event)
        except IllegalTransition:
            continue
        assert state is State.DECLINED
