"""A payment attempt: its kind and its life cycle, shared by terminal, host and recovery."""

from pospay.transaction.kinds import Kind, Method
from pospay.transaction.lifecycle import (
    FINAL_STATES,
    MONEY_MOVED_STATES,
    TRANSITIONS,
    Event,
    State,
    apply,
    is_final,
    moves,
)

__all__ = [
    "FINAL_STATES",
    "MONEY_MOVED_STATES",
    "TRANSITIONS",
    "Event",
    "Kind",
    "Method",
    "State",
    "apply",
    "is_final",
    "moves",
]
