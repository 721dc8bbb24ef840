"""The wallet simulator through both wallets' clients: every scripted payer behaviour,
idempotency by order number, cancel and refund, bills, and signatures that must verify."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from pospay.channels.wallet import WalletStatus
from pospay.errors import BadInput
from pospay.money import Money
from pospay.qr.customer_codes import Wallet
from pospay.wallets.alipay import AlipayClient, BadSignature, UnverifiedAnswer
from pospay.wallets.payers import code_for
from pospay.wallets.tables import wallet_payer
from pospay.wallets.test_keys import TEST_WECHAT_APP_ID, TEST_WECHAT_MCH_ID
from pospay.wallets.transport import LocalTransport
from pospay.wallets.wechat import WechatClient
from wallets.conftest import WalletRig

WALLETS = [Wallet.ALIPAY, Wallet.WECHAT]
_serial = iter(range(10**11, 10**12))


def client(rig: WalletRig, wallet: Wallet) -> Any:
    return rig.alipay if wallet is Wallet.ALIPAY else rig.wechat


def code(wallet: Wallet, payer: str) -> str:
    return code_for(wallet, payer, f"{next(_serial):012d}")


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


async def balance(rig: WalletRig, wallet: Wallet, payer: str) -> int:
    payer_id = f"{wallet.value}-{payer}"
    return int(
        await rig.core._committer.read(  # the test reads the simulator's own table
            lambda c: c.execute(
                select(wallet_payer.c.balance_minor).where(wallet_payer.c.payer_id == payer_id)
            ).scalar_one()
        )
    )


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_payer_who_pays_at_once_is_charged_once_however_often_asked(
    rig: WalletRig, wallet: Wallet
) -> None:
    channel = client(rig, wallet)
    before = await balance(rig, wallet, "0001")
    the_code = code(wallet, "0001")
    first = await channel.pay("PP000000000001", the_code, cny(1250), "test")
    again = await channel.pay("PP000000000001", the_code, cny(1250), "test")
    assert first.status is WalletStatus.PAID
    assert first.trade_no and first.payer_masked and first.payer_masked.endswith("0001")
    assert "*" in first.payer_masked
    assert again == first
    assert await balance(rig, wallet, "0001") == before - 1250
    queried = await channel.query("PP000000000001")
    assert queried is not None and queried.status is WalletStatus.PAID
    assert queried.amount == cny(1250)


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_payer_asked_for_the_password_pays_when_the_delay_is_over(
    rig: WalletRig, wallet: Wallet
) -> None:
    channel = client(rig, wallet)
    answer = await channel.pay("PP000000000002", code(wallet, "0002"), cny(500), "test")
    assert answer.status is WalletStatus.PAYING
    rig.clock.advance(5)
    still = await channel.query("PP000000000002")
    assert still is not None and still.status is WalletStatus.PAYING
    rig.clock.advance(5)
    paid = await channel.query("PP000000000002")
    assert paid is not None and paid.status is WalletStatus.PAID


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_password_never_entered_closes_the_order_at_the_wallet(
    rig: WalletRig, wallet: Wallet
) -> None:
    channel = client(rig, wallet)
    before = await balance(rig, wallet, "0003")
    await channel.pay("PP000000000003", code(wallet, "0003"), cny(500), "test")
    rig.clock.advance(121)
    closed = await channel.query("PP000000000003")
    assert closed is not None and closed.status is WalletStatus.CLOSED
    assert await balance(rig, wallet, "0003") == before


@pytest.mark.parametrize("wallet", WALLETS)
@pytest.mark.parametrize(
    ("payer", "amount", "failure"),
    [("0004", 500, "refused"), ("0005", 2000, "insufficient"), ("0099", 500, "invalid_code")],
)
async def test_refusals_say_why_and_move_nothing(
    rig: WalletRig, wallet: Wallet, payer: str, amount: int, failure: str
) -> None:
    channel = client(rig, wallet)
    answer = await channel.pay("PP000000000004", code(wallet, payer), cny(amount), "test")
    assert answer.status is WalletStatus.FAILED
    assert answer.failure == failure
    if payer != "0099":
        assert await balance(rig, wallet, payer) == (1000 if payer == "0005" else 5_000_000)


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_code_pays_once(rig: WalletRig, wallet: Wallet) -> None:
    channel = client(rig, wallet)
    the_code = code(wallet, "0001")
    assert (
        await channel.pay("PP000000000005", the_code, cny(100), "t")
    ).status is WalletStatus.PAID
    second = await channel.pay("PP000000000006", the_code, cny(100), "t")
    assert second.status is WalletStatus.FAILED and second.failure == "code_used"


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_payer_whose_call_is_never_answered_has_paid(
    rig: WalletRig, wallet: Wallet
) -> None:
    channel = client(rig, wallet)
    with pytest.raises(TimeoutError):
        await channel.pay("PP000000000007", code(wallet, "0006"), cny(700), "t")
    found = await channel.query("PP000000000007")
    assert found is not None and found.status is WalletStatus.PAID


@pytest.mark.parametrize("wallet", WALLETS)
async def test_cancel_closes_unpaid_revokes_paid_and_fences_unknown_numbers(
    rig: WalletRig, wallet: Wallet
) -> None:
    channel = client(rig, wallet)
    before = await balance(rig, wallet, "0001")
    await channel.pay("PP000000000010", code(wallet, "0001"), cny(900), "t")
    revoked = await channel.cancel("PP000000000010")
    assert revoked.status is WalletStatus.REVOKED
    assert await balance(rig, wallet, "0001") == before
    await channel.pay("PP000000000011", code(wallet, "0003"), cny(900), "t")
    assert (await channel.cancel("PP000000000011")).status is WalletStatus.CLOSED
    fenced = await channel.cancel("PP000000000012")
    assert fenced.status is WalletStatus.CLOSED
    late = await channel.pay("PP000000000012", code(wallet, "0001"), cny(900), "t")
    assert late.status is not WalletStatus.PAID
    assert await balance(rig, wallet, "0001") == before


@pytest.mark.parametrize("wallet", WALLETS)
async def test_refunds_are_idempotent_bounded_and_can_be_cancelled(
    rig: WalletRig, wallet: Wallet
) -> None:
    channel = client(rig, wallet)
    before = await balance(rig, wallet, "0001")
    await channel.pay("PP000000000020", code(wallet, "0001"), cny(1000), "t")
    first = await channel.refund("PP000000000020", "PR000000000021", cny(400))
    assert first.status == "done"
    assert await channel.refund("PP000000000020", "PR000000000021", cny(400)) == first
    too_much = await channel.refund("PP000000000020", "PR000000000022", cny(700))
    assert too_much.status == "refused"
    assert await balance(rig, wallet, "0001") == before - 600
    undone = await channel.cancel_refund("PR000000000021")
    assert undone.status == "cancelled"
    assert await balance(rig, wallet, "0001") == before - 1000
    fenced = await channel.cancel_refund("PR000000000023")
    assert fenced.status == "cancelled"
    late = await channel.refund("PP000000000020", "PR000000000023", cny(100))
    assert late.status == "cancelled"
    assert await balance(rig, wallet, "0001") == before - 1000
    queried = await channel.query_refund("PR000000000021")
    assert queried is not None and queried.status == "cancelled"


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_merchant_qr_is_paid_by_scanning_and_notified_signed(
    rig: WalletRig, wallet: Wallet
) -> None:
    channel = client(rig, wallet)
    expires = rig.clock.now() + timedelta(seconds=120)
    opened = await channel.precreate("PP000000000030", cny(2500), "t", expires)
    assert opened.status is WalletStatus.WAITING
    merchant_id = "2026000000000001" if wallet is Wallet.ALIPAY else TEST_WECHAT_MCH_ID
    scanned = await rig.core.scan(wallet, merchant_id, "PP000000000030", "0001")
    assert scanned.status is WalletStatus.PAID
    due = await rig.core.due_notifications()
    assert [d.order.order_no for d in due] == ["PP000000000030"]
    gateway = rig.alipay_gateway if wallet is Wallet.ALIPAY else rig.wechat_gateway
    _, body = gateway.notification(due[0])
    told = channel.read_notification(body)
    assert (told.order_no, told.status, told.amount) == (
        "PP000000000030",
        WalletStatus.PAID,
        cny(2500),
    )
    tampered = body.replace(b"2500", b"2600").replace(b"25.00", b"26.00")
    with pytest.raises(BadSignature):
        channel.read_notification(tampered)


@pytest.mark.parametrize("wallet", WALLETS)
async def test_an_unpaid_merchant_qr_closes_at_its_expiry(rig: WalletRig, wallet: Wallet) -> None:
    channel = client(rig, wallet)
    expires = rig.clock.now() + timedelta(seconds=60)
    await channel.precreate("PP000000000031", cny(2500), "t", expires)
    rig.clock.advance(61)
    assert await rig.core.advance_due() == 1
    closed = await channel.query("PP000000000031")
    assert closed is not None and closed.status is WalletStatus.CLOSED


@pytest.mark.parametrize("wallet", WALLETS)
async def test_the_daily_bill_lists_payments_revocations_and_refunds(
    rig: WalletRig, wallet: Wallet
) -> None:
    channel = client(rig, wallet)
    await channel.pay("PP000000000040", code(wallet, "0001"), cny(1000), "t")
    await channel.refund("PP000000000040", "PR000000000041", cny(300))
    await channel.pay("PP000000000042", code(wallet, "0001"), cny(200), "t")
    await channel.cancel("PP000000000042")
    bill = await channel.bill(rig.clock.now().date())
    for word in ("PP000000000040", "PR000000000041", "PP000000000042", "revoke", "refund"):
        assert word in bill
    assert bill.count("pay") >= 2


async def test_a_request_signed_with_the_wrong_key_is_refused(rig: WalletRig) -> None:
    impostor = WechatClient(
        LocalTransport(rig.wechat_gateway),
        app_id=TEST_WECHAT_APP_ID,
        mch_id=TEST_WECHAT_MCH_ID,
        api_key=b"NOT-THE-KEY-NOT-THE-KEY-NOT-THE!",
    )
    with pytest.raises(UnverifiedAnswer):  # the wallet's answer is signed with the real key
        await impostor.query("PP000000000050")
    wrong = AlipayClient(
        LocalTransport(rig.alipay_gateway),
        app_id="2026000000000001",
        clock=rig.clock,
        keys=rig.alipay_gateway._keys,  # the wallet's own keys: signs as the wrong party
    )
    with pytest.raises((BadInput, UnverifiedAnswer)):
        await wrong.query("PP000000000050")
