"""Merchant-presented QR payments end to end: the terminal's dynamic EMVCo QR, the
payer's app, the wallet's signed notification (and what a bad or repeated one does),
polling as fallback, expiry; then refunds and voids of QR sales."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from databases import Database
from pospay.channels.wallet import WalletStatus
from pospay.cli.app import app
from pospay.host.tables import host_journal
from pospay.host.wallet_bills import keep_bills
from pospay.qr import check
from pospay.qr.customer_codes import Wallet
from pospay.storage.database import sqlite_url
from pospay.transaction import State
from pospay.wallets.core import DueNotification
from pospay.wallets.test_keys import TEST_ALIPAY_APP_ID, TEST_WECHAT_MCH_ID
from qr_rig import Shop, cny, open_shop

WALLETS = [Wallet.ALIPAY, Wallet.WECHAT]


def host_rows(shop: Shop) -> list[tuple[object, ...]]:
    with shop.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(host_journal))]


@pytest.mark.parametrize("wallet", WALLETS)
async def test_the_terminals_qr_is_paid_and_confirmed_by_the_signed_notification(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        phone = shop.phone("0001")
        outcome = await shop.terminal.pay_by_qr(wallet, cny(2500), phone)
        assert outcome.state is State.APPROVED and outcome.receipts_printed == 2
        [payload] = phone.shown
        verdict = check(payload, amount=cny(2500), now=shop.clock.now())
        assert verdict.summary["initiation"] == "dynamic"
        assert verdict.summary["reference"] == f"PP{outcome.rrn}"
        assert "expires_at" in verdict.summary
        assert shop.notifications == [(200, "recorded")]  # the host learnt it from the wallet
        row = shop.terminal_row(outcome.attempt_id)
        assert row.payer_masked and row.wallet == wallet.value
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_lost_notification_is_made_up_for_by_polling(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        outcome = await shop.terminal.pay_by_qr(wallet, cny(2500), shop.phone("0007"))
        assert outcome.state is State.APPROVED
        assert shop.notifications == []
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_duplicated_notification_changes_nothing_the_second_time(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        outcome = await shop.terminal.pay_by_qr(wallet, cny(2500), shop.phone("0008"))
        assert outcome.state is State.APPROVED
        assert [status for status, _ in shop.notifications] == [200, 200]
        assert shop.notifications[1][1].startswith("already approved")
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_late_notification_after_polling_found_the_payment_changes_nothing(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        before = shop.balance(wallet, "0009")
        outcome = await shop.terminal.pay_by_qr(wallet, cny(2500), shop.phone("0009"))
        assert outcome.state is State.APPROVED  # found by polling: the notification is late
        assert shop.notifications == []
        journal = host_rows(shop)
        shop.clock.advance(61)  # the payer's notification comes a minute late
        assert await shop.notifier.run_once() == 1
        [(status, detail)] = shop.notifications
        assert status == 200 and detail.startswith("already approved")
        assert host_rows(shop) == journal
        assert shop.balance(wallet, "0009") == before - 2500
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_notification_with_a_bad_signature_is_refused_and_changes_nothing(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        outcome = await shop.terminal.pay_by_qr(wallet, cny(2500), shop.phone("0007"))
        order = await shop.core.query(wallet, _merchant(wallet), f"PP{outcome.rrn}")
        assert order is not None
        # The wallet's own notification of the order (the payer's was lost), then forged.
        due = DueNotification(1, order, "http://host/notify", 1, 0)
        _, body = shop.gateways[wallet].notification(due)
        desk = shop.service.wallets
        assert desk is not None
        before = host_rows(shop)
        forged = body.replace(b"2500", b"9900").replace(b"25.00", b"99.00")
        refused = await desk.notify(wallet, forged)
        assert refused.status == 400
        assert host_rows(shop) == before
        again = await desk.notify(wallet, body)  # genuine, but the row is final: nothing
        assert again.status == 200
        assert host_rows(shop) == before


@pytest.mark.parametrize("wallet", WALLETS)
async def test_an_unpaid_qr_expires_and_is_closed_at_the_wallet(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        outcome = await shop.terminal.pay_by_qr(wallet, cny(2500), shop.phone(None))
        assert outcome.state is State.REVERSED
        order = shop.order(f"PP{shop.host_row(outcome.stan).rrn}")
        assert order.status == WalletStatus.CLOSED.value
        assert order.reason == "cancelled unpaid"  # closed by the terminal's cancel
        assert shop.printer.jobs == []
        assert shop.findings() == {}


@pytest.mark.parametrize("wallet", WALLETS)
async def test_qr_sales_are_refunded_and_voided_through_the_wallet(
    database: Database, tmp_path: Path, wallet: Wallet
) -> None:
    async with open_shop(database, tmp_path) as shop:
        before = shop.balance(wallet, "0001")
        sale = await shop.terminal.pay_by_code(shop.code(wallet, "0001"), cny(1000))
        refund = await shop.terminal.refund(sale.voucher, cny(400))
        assert refund.state is State.APPROVED and refund.receipts_printed == 2
        assert shop.balance(wallet, "0001") == before - 600
        other = await shop.terminal.pay_by_qr(wallet, cny(700), shop.phone("0001"))
        void = await shop.terminal.void(other.voucher)
        assert void.state is State.APPROVED
        assert shop.terminal_row(other.attempt_id).state == State.VOIDED.value
        assert shop.balance(wallet, "0001") == before - 600
        too_much = await shop.terminal.refund(sale.voucher, cny(700))
        assert too_much.state is State.DECLINED
        assert shop.finding_details() == []
        texts = [text for _, _, text in shop.printer.jobs]
        assert any("退货" in text and f"PP{sale.rrn}" in text for text in texts)


def _merchant(wallet: Wallet) -> str:
    return TEST_ALIPAY_APP_ID if wallet is Wallet.ALIPAY else TEST_WECHAT_MCH_ID


async def test_the_daily_bills_are_kept_whole_for_reconciliation(
    database: Database, tmp_path: Path
) -> None:
    async with open_shop(database, tmp_path) as shop:
        paid = await shop.terminal.pay_by_code(shop.code(Wallet.ALIPAY, "0001"), cny(1000))
        shown = await shop.terminal.pay_by_qr(Wallet.WECHAT, cny(700), shop.phone("0001"))
        kept = await keep_bills(shop.wallets, shop.clock.now().date(), tmp_path / "bills")
        assert sorted(path.name for path in kept.values()) == [
            f"alipay-{shop.clock.now():%Y%m%d}.csv",
            f"wechat-{shop.clock.now():%Y%m%d}.csv",
        ]
        assert f"PP{paid.rrn}" in kept[Wallet.ALIPAY].read_text(encoding="utf-8")
        assert f"PP{shown.rrn}" in kept[Wallet.WECHAT].read_text(encoding="utf-8")
        assert not list((tmp_path / "bills").glob("*.partial"))


async def test_qr_check_says_a_code_whose_order_ended_was_already_used(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "terminal.db"), None, "sqlite")
    async with open_shop(database, tmp_path, start=datetime.now(UTC)) as shop:
        phone = shop.phone("0001")
        outcome = await shop.terminal.pay_by_qr(Wallet.ALIPAY, cny(2500), phone)
        assert outcome.state is State.APPROVED
        payload = phone.shown[0]
    fresh = CliRunner().invoke(app, ["qr", "check", payload, "--json"])
    assert fresh.exit_code == 0, fresh.output  # as a code it is fine...
    used = CliRunner().invoke(app, ["qr", "check", payload, "--data-dir", str(tmp_path), "--json"])
    assert used.exit_code == 1  # ...but this terminal's journal has ended its order
    verdict = json.loads(used.output)
    assert verdict["kind"] == "already_used"
    assert verdict["details"]["state"] == "approved"
