"""The payer's side of a merchant-presented QR: what a test payer's wallet app does with it.

The app reads the scanned EMVCo payload as any wallet does: the code must be usable
(`pospay.qr.check`: CRC, mandatory tags, not expired), carry this wallet's merchant
account template (its GUI, `channels.wallet.MERCHANT_ACCOUNT_GUI`, sub-id 01 the merchant)
and an order reference (62, sub-id 05); then it pays that order as the payer's behaviour
says (`WalletCore.scan`), for the amount the order holds, which must be tag 54's.
"""

from __future__ import annotations

from pospay.channels.wallet import MERCHANT_ACCOUNT_GUI
from pospay.clock import Clock
from pospay.errors import BadInput
from pospay.qr import check, parse_payload
from pospay.qr.customer_codes import Wallet
from pospay.qr.emvco import is_merchant_account
from pospay.wallets.core import OrderView, WalletCore


class UnusableCode(BadInput):
    """The scanned code cannot be paid with this wallet; the message says why."""


async def pay_scanned(
    core: WalletCore, clock: Clock, wallet: Wallet, payload: str, payer: str
) -> OrderView:
    """Test payer `payer` (four digits) scans `payload` with `wallet`'s app and pays."""
    verdict = check(payload, now=clock.now())
    if not verdict.usable or verdict.customer_code is not None:
        raise UnusableCode(verdict.message_en)
    merchant_id = None
    for field in parse_payload(payload.strip()):
        if is_merchant_account(field.tag) and field.child("00") == MERCHANT_ACCOUNT_GUI[wallet]:
            merchant_id = field.child("01")
    order_no = verdict.summary.get("reference")
    if merchant_id is None or order_no is None:
        raise UnusableCode(f"the code names no {wallet.value} merchant and order")
    order = await core.query(wallet, merchant_id, order_no)
    if order is None or str(order.amount) != verdict.summary.get("amount"):
        raise UnusableCode("the code's amount is not its order's")
    return await core.scan(wallet, merchant_id, order_no, payer)
