"""The wallet channel: what the host asks a QR wallet (Alipay-like, WeChat-Pay-like).

The host names every order by its own order number (the merchant's `out_trade_no`),
chosen and saved in its journal before the first call, and every refund by its own refund
number: the wallet treats a repeated number as the same order or refund. A call that
gets no answer may have been acted on; the host resolves it with `query` and `cancel`.

`cancel` is the wallet's cancel / reverse: an unpaid order is closed, a paid one is
revoked (the money goes back to the payer), a number the wallet never saw is recorded
closed, so that a payment arriving late under it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from pospay.money import Money
from pospay.qr.customer_codes import Wallet


class WalletStatus(StrEnum):
    """An order's status at the wallet (names of both wallets in the comments)."""

    WAITING = "waiting"  # NOTPAY, WAIT_BUYER_PAY: a merchant QR not paid yet
    PAYING = "paying"  # USERPAYING, Alipay 10003: the payer is entering the password
    PAID = "paid"  # SUCCESS, TRADE_SUCCESS
    FAILED = "failed"  # PAYERROR: refused, not enough balance, a bad code
    CLOSED = "closed"  # CLOSED, TRADE_CLOSED: never paid
    REVOKED = "revoked"  # REVOKED, cancel with action "refund": paid, then given back


IN_PROGRESS = frozenset({WalletStatus.WAITING, WalletStatus.PAYING})

# The globally unique identifier (sub-id 00) of each wallet's merchant account template
# (EMVCo ids 26–51) in a pospay merchant-presented QR; sub-id 01 is the merchant's id there.
MERCHANT_ACCOUNT_GUI = {Wallet.ALIPAY: "COM.POSPAY.ALIPAY", Wallet.WECHAT: "COM.POSPAY.WECHAT"}


@dataclass(frozen=True, slots=True)
class WalletAnswer:
    """What the wallet says about one order."""

    wallet: Wallet
    order_no: str
    status: WalletStatus
    amount: Money
    trade_no: str | None = None  # the wallet's number of the trade
    payer_masked: str | None = None  # e.g. 138****0001: never more
    failure: str | None = None  # insufficient | invalid_code | code_used | refused
    reason: str = ""
    # While PAYING or WAITING: how often the wallet asks merchants to query, seconds.
    poll_interval: float = 5.0


@dataclass(frozen=True, slots=True)
class RefundAnswer:
    refund_no: str
    status: str  # done | refused | cancelled
    amount: Money
    reason: str = ""


class WalletChannel(Protocol):
    @property
    def wallet(self) -> Wallet: ...

    @property
    def merchant_id(self) -> str:
        """The merchant's (the host's) id at this wallet: Alipay app_id, WeChat mch_id."""
        ...

    async def pay(self, order_no: str, code: str, amount: Money, subject: str) -> WalletAnswer:
        """Take `amount` with the customer's payment code (customer-presented)."""
        ...

    async def precreate(
        self, order_no: str, amount: Money, subject: str, expires_at: datetime
    ) -> WalletAnswer:
        """Open the order a merchant-presented QR names; the wallet notifies when paid."""
        ...

    async def query(self, order_no: str) -> WalletAnswer | None:
        """The order as the wallet has it, or None if it never saw the number."""
        ...

    async def cancel(self, order_no: str) -> WalletAnswer:
        """Close or revoke the order (see the module docstring). Idempotent."""
        ...

    async def refund(self, order_no: str, refund_no: str, amount: Money) -> RefundAnswer: ...

    async def query_refund(self, refund_no: str) -> RefundAnswer | None: ...

    async def cancel_refund(self, refund_no: str) -> RefundAnswer:
        """Undo a refund the host gave up on, or refuse it for good if it never came."""
        ...

    async def bill(self, day: date) -> str:
        """The merchant's statement of `day` as the wallet's bill file (text)."""
        ...
