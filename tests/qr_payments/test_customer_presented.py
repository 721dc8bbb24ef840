"""Customer-presented QR payments end to end: terminal, host, wallet, receipts, auditor."""

from __future__ import annotations

from pathlib import Path

import pytest

from databases import Database
from pospay.channels.wallet import WalletStatus
from pospay.iso8583 import Message
from pospay.qr.customer_codes import Wallet
from pospay.terminal.qr_payments import BadQrCode
from pospay.transaction import State
from qr_rig import cny, open_shop

WALLETS = [Wallet.ALIPAY, Wallet.WECHAT]


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_code_that_pays_at_once_is_approved_with_wallet_receipts(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        before = shop.balance(wallet, "0001")
        outcome = await shop.terminal.pay_by_code(shop.code(wallet, "0001"), cny(1250))
        assert outcome.state is State.APPROVED and outcome.response_code == "00"
        assert outcome.receipts_printed == 2
        row = shop.terminal_row(outcome.attempt_id)
        assert row.wallet == wallet.value and row.wallet_order == f"PP{outcome.rrn}"
        assert row.payer_masked.endswith("0001") and "*" in row.payer_masked
        for _, _, text in shop.printer.jobs:
            assert row.wallet_order in text and row.payer_masked in text
            assert ("支付宝" if wallet is Wallet.ALIPAY else "微信支付") in text
        assert shop.balance(wallet, "0001") == before - 1250
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_payer_entering_the_password_is_polled_until_paid(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        outcome = await shop.terminal.pay_by_code(shop.code(wallet, "0002"), cny(800))
        assert outcome.state is State.APPROVED
        assert outcome.status_queries >= 2  # USERPAYING for 8 s, polled every 5 s
        assert [m["t"] for m in shop.link.sent].count("0600") == outcome.status_queries
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_password_never_entered_is_cancelled_at_the_deadline(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        before = shop.balance(wallet, "0003")
        outcome = await shop.terminal.pay_by_code(shop.code(wallet, "0003"), cny(800))
        assert outcome.state is State.REVERSED
        assert shop.host_row(outcome.stan).state == State.REVERSED.value
        assert shop.order(f"PP{shop.host_row(outcome.stan).rrn}").status == "closed"
        assert shop.printer.jobs == []
        assert shop.balance(wallet, "0003") == before
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_payer_who_pays_between_the_last_poll_and_the_cancel_gets_the_money_back(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    # Payer 0010 confirms 40 s after the code was scanned; the terminal gives up at 38 s,
    # and its cancel reaches the wallet 3 s later: the wallet has been paid by then.
    async with open_shop(database, tmp_path, qr_poll_window=38.0) as shop:
        before = shop.balance(wallet, "0010")
        shop.link.delay["0400"] = 3.0
        outcome = await shop.terminal.pay_by_code(shop.code(wallet, "0010"), cny(900))
        assert outcome.state is State.REVERSED
        order = shop.order(f"PP{shop.host_row(outcome.stan).rrn}")
        assert order.status == WalletStatus.REVOKED.value  # paid, then given back
        assert order.paid_at is not None
        assert shop.host_row(outcome.stan).state == State.REVERSED.value
        assert shop.balance(wallet, "0010") == before
        assert shop.printer.jobs == []
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
@pytest.mark.parametrize(
    ("payer", "amount", "code"), [("0004", 500, "05"), ("0005", 2000, "51"), ("0099", 500, "14")]
)
async def test_a_refused_payment_is_declined_with_the_wallets_reason(
    database: Database, tmp_path: Path, wallet: Wallet, payer: str, amount: int, code: str
) -> None:
    async with open_shop(database, tmp_path) as shop:
        outcome = await shop.terminal.pay_by_code(shop.code(wallet, payer), cny(amount))
        assert (outcome.state, outcome.response_code) == (State.DECLINED, code)
        assert shop.printer.jobs == []
        assert shop.findings() == {}


@pytest.mark.parametrize("code", ["", "12345", "9912345678901234567", "13abc0000000000000"])
async def test_a_malformed_code_is_refused_before_anything_is_recorded_or_sent(
    database: Database, tmp_path: Path, code: str
) -> None:
    async with open_shop(database, tmp_path) as shop:
        sent = len(shop.link.sent)
        with pytest.raises(BadQrCode) as refused:
            await shop.terminal.pay_by_code(code, cny(100))
        assert refused.value.message_zh and refused.value.message_en
        assert code not in str(refused.value) or not code
        assert len(shop.link.sent) == sent
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_wallet_that_never_answers_ends_declined_and_the_money_goes_back(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        before = shop.balance(wallet, "0006")
        outcome = await shop.terminal.pay_by_code(shop.code(wallet, "0006"), cny(700))
        assert (outcome.state, outcome.response_code) == (State.DECLINED, "91")
        assert shop.balance(wallet, "0006") == before - 700  # the wallet took it
        await shop.recover()
        assert shop.host_row(outcome.stan).state == State.REVERSED.value
        assert shop.balance(wallet, "0006") == before
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_payment_that_recovery_finds_paid_prints_the_payer_on_its_receipts(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    """The host's recovery job learns of the payment (between the terminal's polls) and
    records it; the terminal's next status query gets it, payer and trade number too."""
    async with open_shop(database, tmp_path) as shop:

        async def recovery_runs_first(request: Message) -> None:
            if request["t"] == "0600":
                await shop.recover()

        shop.link.before_request = recovery_runs_first
        outcome = await shop.terminal.pay_by_code(shop.code(wallet, "0002"), cny(800))
        assert outcome.state is State.APPROVED and outcome.receipts_printed == 2
        host_row = shop.host_row(outcome.stan)
        assert host_row.reason.startswith("resolved by recovery")
        row = shop.terminal_row(outcome.attempt_id)
        assert row.payer_masked == host_row.payer_masked and row.payer_masked.endswith("0002")
        assert row.wallet_trade_no and row.wallet_trade_no == host_row.wallet_trade_no
        for _, _, text in shop.printer.jobs:
            assert row.payer_masked in text
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_lost_approval_is_found_by_polling(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        shop.link.drop.append("0200")
        outcome = await shop.terminal.pay_by_code(shop.code(wallet, "0001"), cny(300))
        assert outcome.state is State.APPROVED and outcome.status_queries == 1
        assert outcome.receipts_printed == 2
        assert shop.findings() == {}
