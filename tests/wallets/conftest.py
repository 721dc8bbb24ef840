"""Wallet simulator fixtures: a core on SQLite and PostgreSQL, and clients of both styles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from databases import Database
from pospay.clock import ManualClock
from pospay.storage import GroupCommitter, migrate
from pospay.wallets.alipay import AlipayClient, AlipayGateway
from pospay.wallets.core import WalletCore
from pospay.wallets.test_keys import (
    TEST_ALIPAY_APP_ID,
    TEST_WECHAT_API_KEY,
    TEST_WECHAT_APP_ID,
    TEST_WECHAT_MCH_ID,
)
from pospay.wallets.transport import LocalTransport
from pospay.wallets.wechat import WechatClient, WechatGateway


@dataclass
class WalletRig:
    core: WalletCore
    clock: ManualClock
    alipay_gateway: AlipayGateway
    wechat_gateway: WechatGateway
    alipay: AlipayClient
    wechat: WechatClient


@pytest.fixture
async def rig(database: Database) -> AsyncIterator[WalletRig]:
    engine = database.engine()
    migrate(engine, "wallets")
    clock = ManualClock()
    async with GroupCommitter(engine) as committer:
        core = WalletCore(committer, clock)
        await core.install_test_payers()
        alipay_gateway = AlipayGateway(core, clock)
        wechat_gateway = WechatGateway(core, clock, TEST_WECHAT_API_KEY)
        yield WalletRig(
            core,
            clock,
            alipay_gateway,
            wechat_gateway,
            AlipayClient(
                LocalTransport(alipay_gateway),
                app_id=TEST_ALIPAY_APP_ID,
                clock=clock,
                notify_url="http://host/notify/alipay",
            ),
            WechatClient(
                LocalTransport(wechat_gateway),
                app_id=TEST_WECHAT_APP_ID,
                mch_id=TEST_WECHAT_MCH_ID,
                api_key=TEST_WECHAT_API_KEY,
                notify_url="http://host/notify/wechat",
            ),
        )
    engine.dispose()
