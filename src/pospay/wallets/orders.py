"""The life of a wallet order, as one table: what the wallet simulator allows.

An order is WAITING (a merchant QR not yet paid, WeChat NOTPAY / Alipay WAIT_BUYER_PAY),
PAYING (the payer is asked for the password, USERPAYING), PAID (SUCCESS / TRADE_SUCCESS),
FAILED (refused or not enough balance, PAYERROR), CLOSED (never paid, closed by the
merchant or at its expiry) or REVOKED (cancelled after it was paid: the money went back,
WeChat REVOKED / Alipay cancel with action "refund"). Refunds do not change the status:
they are counted in `refunded_minor`.

>>> advance(Status.PAYING, Step.CONFIRM)
<Status.PAID: 'paid'>
>>> advance(Status.PAID, Step.CANCEL)
<Status.REVOKED: 'revoked'>
"""

from __future__ import annotations

from enum import StrEnum

from pospay.channels.wallet import WalletStatus
from pospay.errors import IllegalTransition

# The wallets' vocabulary is the channel's: the host and the simulator speak of one thing.
Status = WalletStatus
# A refund's statuses: made, refused, or cancelled (undone) by the merchant's acquirer.
DONE, REFUSED, CANCELLED = "done", "refused", "cancelled"


class Step(StrEnum):
    PAY = "pay"  # the money moved
    AWAIT_PAYER = "await_payer"  # the payer is asked for the password
    CONFIRM = "confirm"  # the payer entered the password and the money moved
    FAIL = "fail"
    EXPIRE = "expire"
    CANCEL = "cancel"  # the merchant's cancel / close / reverse


S, T = Status, Step

TRANSITIONS: dict[tuple[Status, Step], Status] = {
    (S.WAITING, T.PAY): S.PAID,
    (S.WAITING, T.AWAIT_PAYER): S.PAYING,
    (S.WAITING, T.FAIL): S.FAILED,  # (a merchant QR stays WAITING: its payer may try again)
    (S.WAITING, T.EXPIRE): S.CLOSED,
    (S.WAITING, T.CANCEL): S.CLOSED,
    (S.PAYING, T.CONFIRM): S.PAID,
    (S.PAYING, T.FAIL): S.FAILED,
    (S.PAYING, T.EXPIRE): S.CLOSED,
    (S.PAYING, T.CANCEL): S.CLOSED,
    (S.FAILED, T.CANCEL): S.CLOSED,
    (S.PAID, T.CANCEL): S.REVOKED,
    (S.CLOSED, T.CANCEL): S.CLOSED,
    (S.REVOKED, T.CANCEL): S.REVOKED,
}

FINAL = frozenset({S.PAID, S.FAILED, S.CLOSED, S.REVOKED})


def advance(status: Status, step: Step) -> Status:
    """The status after `step`; `IllegalTransition` for a pair the table lacks."""
    try:
        return TRANSITIONS[(status, step)]
    except KeyError:
        raise IllegalTransition(status.value, step.value) from None
