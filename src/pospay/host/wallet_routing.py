"""One `CardChannel` face for cards and QR wallets, so reversal and recovery need no new code.

The reversal desk (`host.reversing`) and the recovery job (`host.recovery`) act on a
journal row through `reverse(rrn)` and `query(rrn)`; the follow-ups (void, refund) through
`authorise`. `WalletRoutedChannel` looks the row up and sends a card attempt to the card
channel and a QR attempt to its wallet, translating as the wallet's API needs:

- a QR sale is the order `order_number(rrn)` at its wallet: `query` asks for it (PAID is
  approved, a failed or closed order declined, one still being paid is answered
  `STILL_PAYING` (09), which the recovery job leaves for a later run); `reverse` cancels
  it (closed if unpaid, revoked if paid; a number never seen is fenced, so a late
  payment under it is refused);
- a void or refund of a QR sale is a refund at the wallet under `refund_number(rrn)`
  (`PV` for a void: the whole sale back; `PR` for a refund): `authorise` makes it,
  `query` asks for it, `reverse` takes it back (the simulator's extension, `wallets.core`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row

from pospay.channels import CardAuthorisation, CardChannel, CardResult
from pospay.channels.wallet import (
    IN_PROGRESS,
    RefundAnswer,
    WalletAnswer,
    WalletChannel,
    WalletStatus,
)
from pospay.host import journal
from pospay.iso8583.response_codes import APPROVED
from pospay.qr.customer_codes import Wallet
from pospay.storage import Committer
from pospay.transaction import Kind

DO_NOT_HONOUR, INSUFFICIENT, INVALID_CODE, NOT_ALLOWED = "05", "51", "14", "12"
STILL_PAYING = "09"  # a query's answer for an order its payer has not finished
# Why a wallet did not take the money, as a response code of the link.
FAILURE_CODES = {
    "insufficient": INSUFFICIENT,
    "invalid_code": INVALID_CODE,
    "code_used": INVALID_CODE,
    "refused": DO_NOT_HONOUR,
}


def order_number(rrn: str) -> str:
    """The host's order number at the wallet for the QR sale with this RRN."""
    return f"PP{rrn}"


def refund_number(rrn: str, kind: Kind = Kind.REFUND) -> str:
    """The host's refund number at the wallet for the refund (`PR`) or void (`PV`: the
    whole sale given back, which takes the sale out, as a card void does) with this RRN."""
    return f"{'PV' if kind is Kind.VOID else 'PR'}{rrn}"


def approval_code(answer: WalletAnswer) -> str | None:
    """Field 38 of a paid QR sale: the last six characters of the wallet's trade number."""
    return None if not answer.trade_no else answer.trade_no[-6:].rjust(6, "0")


def card_result(reference: str, answer: WalletAnswer) -> CardResult:
    """A final wallet answer as the journal records it."""
    if answer.status is WalletStatus.PAID:
        return CardResult(reference, APPROVED, approval_code(answer), None, "paid at the wallet")
    code = FAILURE_CODES.get(answer.failure or "", DO_NOT_HONOUR)
    reason = f"{answer.wallet.value}: {answer.status.value}"
    return CardResult(reference, code, None, None, f"{reason}: {answer.reason}".rstrip(": "))


def refund_result(reference: str, answer: RefundAnswer) -> CardResult:
    if answer.status == "done":
        return CardResult(reference, APPROVED, reference[-6:], None, "refunded at the wallet")
    return CardResult(
        reference, NOT_ALLOWED, None, None, f"refund {answer.status}: {answer.reason}"
    )


class WalletRoutedChannel:
    """Cards to `card`, QR attempts to their wallet (see the module docstring)."""

    def __init__(
        self, card: CardChannel, wallets: Mapping[Wallet, WalletChannel], committer: Committer
    ) -> None:
        self._card = card
        self._wallets = wallets
        self._committer = committer

    async def authorise(self, request: CardAuthorisation) -> CardResult:
        original = None
        if request.original_reference is not None:
            original = await self._row(request.original_reference)
        if original is None or original.wallet is None:
            return await self._card.authorise(request)
        wallet = self._wallets[Wallet(original.wallet)]
        answer = await wallet.refund(
            order_number(original.rrn),
            refund_number(request.reference, request.kind),
            request.amount,
        )
        return refund_result(request.reference, answer)

    async def reverse(self, reference: str) -> CardResult:
        row, wallet = await self._wallet_row(reference)
        if row is None or wallet is None:
            return await self._card.reverse(reference)
        if row.original_id is None:
            order = await wallet.cancel(order_number(reference))
            return CardResult(reference, APPROVED, None, None, f"cancelled: {order.status.value}")
        refund = await wallet.cancel_refund(refund_number(reference, Kind(row.kind)))
        if refund.status == "done":
            return CardResult(reference, NOT_ALLOWED, None, None, "the refund cannot be undone")
        return CardResult(reference, APPROVED, None, None, f"refund {refund.status}")

    async def query(self, reference: str) -> CardResult | None:
        row, wallet = await self._wallet_row(reference)
        if row is None or wallet is None:
            return await self._card.query(reference)
        if row.original_id is not None:
            refund = await wallet.query_refund(refund_number(reference, Kind(row.kind)))
            return None if refund is None else refund_result(reference, refund)
        order = await wallet.query(order_number(reference))
        if order is None:
            return None
        if order.status in IN_PROGRESS:
            reason = f"{order.wallet.value} order {order.order_no} is {order.status.value}"
            return CardResult(reference, STILL_PAYING, None, None, reason)
        if order.status is WalletStatus.PAID and row.payer_masked is None:
            # A card result has no room for them: kept on the row before it is answered,
            # so that a payment recovery finds paid has its payer on the receipts too.
            row_id, trade_no, payer = row.id, order.trade_no, order.payer_masked
            await self._committer.run(
                lambda connection: journal.record_wallet_payment(
                    connection, row_id, trade_no, payer
                )
            )
        return card_result(reference, order)

    async def _row(self, rrn: str) -> Row[Any] | None:
        return await self._committer.read(lambda connection: journal.find_by_rrn(connection, rrn))

    async def _wallet_row(self, rrn: str) -> tuple[Row[Any] | None, WalletChannel | None]:
        row = await self._row(rrn)
        if row is None:
            return None, None
        wallet = row.wallet
        if wallet is None and row.original_id is not None:
            original = await self._committer.read(
                lambda connection: journal.request_row(connection, row.original_id)
            )
            wallet = original.wallet
        return row, None if wallet is None else self._wallets[Wallet(wallet)]
