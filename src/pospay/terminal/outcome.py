"""What the operator is told about one attempt, read from its journal row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from pospay.iso8583 import describe
from pospay.money import Money
from pospay.transaction import Kind, State

# What the operator is told about an attempt whose answer never came.
_OPERATOR_MESSAGES: dict[State, tuple[str, str]] = {
    State.REVERSAL_PENDING: ("交易结果未知，正在冲正，请勿重复交易", "No answer, reversal pending"),
    State.REVERSED: ("交易超时，已冲正，未扣款", "No answer, reversed: nothing charged"),
}
# A status query found that the host never received the request (25).
_NOT_RECEIVED = ("交易未到达主机，未扣款", "Not received by the host: nothing charged")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the operator is told about one attempt."""

    attempt_id: int
    local_ref: str
    stan: str
    voucher: str
    kind: Kind
    state: State
    response_code: str | None
    message_zh: str
    message_en: str
    auth_code: str | None
    rrn: str | None
    balance: Money | None
    receipts_printed: int
    receipts_pending: int
    # Status queries (0600) sent to settle this attempt after its answer did not come.
    status_queries: int = 0

    @property
    def approved(self) -> bool:
        return self.state is State.APPROVED


def outcome_of(done: Row[Any], balance: Money | None, printed: int, pending: int) -> Outcome:
    """The operator's view of the journal row `done`."""
    code = done.response_code
    entry = describe(code) if code else None
    state = State(done.state)
    if state in _OPERATOR_MESSAGES:
        message_zh, message_en = _OPERATOR_MESSAGES[state]
    elif entry is None:
        message_zh, message_en = ("交易结果未知，请勿重复交易", "Outcome unknown, do not retry")
        if state is State.DECLINED:
            message_zh, message_en = ("交易未发送", "Not sent")
    elif state is State.DECLINED and code == "25":
        message_zh, message_en = _NOT_RECEIVED
    else:
        message_zh, message_en = entry.operator_zh, entry.operator_en
    return Outcome(
        attempt_id=done.id,
        local_ref=done.local_ref,
        stan=done.stan,
        voucher=done.voucher,
        kind=Kind(done.kind),
        state=state,
        response_code=code,
        message_zh=message_zh,
        message_en=message_en,
        auth_code=done.auth_code,
        rrn=done.rrn,
        balance=balance,
        receipts_printed=printed,
        receipts_pending=pending,
    )
