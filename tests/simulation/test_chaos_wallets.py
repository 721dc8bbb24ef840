"""QR wallet attempts in the chaos simulation: they run, under faults, through the same
production code, and the auditor checks them as it checks card attempts — it reports a
wallet that holds money the journals do not, and a payer's balance that does not add up."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from pospay.audit import check_agreement
from pospay.simulation import ChaosConfig, World, run_virtual
from pospay.simulation.report import build_report
from pospay.wallets.tables import wallet_order, wallet_payer

pytestmark = pytest.mark.slow

WORLD = ChaosConfig(seed=3, transactions=400, fault_rate=1.0, terminals=6, crash_scale=5.0)


def test_wallet_attempts_under_faults_agree_and_a_tampered_wallet_is_caught() -> None:
    result = run_virtual(World(WORLD).run())
    report = build_report(WORLD, result).as_json()
    assert report["violations"] == [] and report["errors"] == []
    assert report["steps"]["qr_customer"] > 10 and report["steps"]["qr_merchant"] > 10
    assert report["crashes"]["wallets"] > 0
    engines = result.engines
    with engines["wallets"].connect() as connection:
        paid = connection.execute(
            select(wallet_order.c.id, wallet_order.c.payer_id).where(
                wallet_order.c.status == "paid"
            )
        ).first()
        assert paid is not None
        # The wallet "forgets" a payment it took: its books and the journals now differ.
        connection.execute(
            update(wallet_order).where(wallet_order.c.id == paid.id).values(status="closed")
        )
        connection.execute(
            update(wallet_payer)
            .where(wallet_payer.c.payer_id == paid.payer_id)
            .values(balance_minor=wallet_payer.c.balance_minor - 1)
        )
        connection.commit()
    tampered = check_agreement(
        engines["terminal"], engines["host"], engines["issuer"], wallets=engines["wallets"]
    )
    broken = tampered.by_invariant()
    assert broken["outcome"] >= 1  # the host approved money the wallet no longer holds
    assert broken["ledger"] >= 1  # and the payer's balance no longer adds up
