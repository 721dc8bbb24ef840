"""The host's client of each wallet, with the test merchant's ids and keys."""

from __future__ import annotations

from pospay.channels.wallet import WalletChannel
from pospay.clock import Clock
from pospay.qr.customer_codes import Wallet
from pospay.wallets.alipay import AlipayClient
from pospay.wallets.test_keys import (
    TEST_ALIPAY_APP_ID,
    TEST_WECHAT_API_KEY,
    TEST_WECHAT_APP_ID,
    TEST_WECHAT_MCH_ID,
)
from pospay.wallets.transport import WalletTransport
from pospay.wallets.wechat import WechatClient


def wallet_client(
    wallet: Wallet, transport: WalletTransport, clock: Clock, notify_url: str | None
) -> WalletChannel:
    """The test merchant's client of `wallet` over `transport`."""
    if wallet is Wallet.ALIPAY:
        return AlipayClient(
            transport, app_id=TEST_ALIPAY_APP_ID, clock=clock, notify_url=notify_url
        )
    if wallet is Wallet.WECHAT:
        return WechatClient(
            transport,
            app_id=TEST_WECHAT_APP_ID,
            mch_id=TEST_WECHAT_MCH_ID,
            api_key=TEST_WECHAT_API_KEY,
            notify_url=notify_url,
        )
    raise ValueError(f"no wallet service for {wallet.value}")
