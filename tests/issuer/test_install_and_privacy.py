"""Installing the test cards is idempotent, and no full card number is ever stored or logged."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, String, select

from pospay.issuer import (
    FUNDING_ACCOUNT,
    SETTLEMENT_ACCOUNT,
    TEST_CARDS,
    UNKNOWN_CARD_PAN,
    metadata,
)
from pospay.money import Money
from pospay.transaction import Kind

from .support import RICH, card_balance, ledger_view, running_issuer, sale


async def test_installing_funds_every_card_with_its_opening_balance(
    issuer_engine: Engine,
) -> None:
    async with running_issuer(issuer_engine):  # starting installs the test cards
        pass
    view = ledger_view(issuer_engine)
    total = sum(card.opening_balance.minor for card in TEST_CARDS)
    assert all(card_balance(issuer_engine, card) == card.opening_balance for card in TEST_CARDS)
    assert view.balances[FUNDING_ACCOUNT] == total
    assert view.balances[SETTLEMENT_ACCOUNT] == 0
    assert (view.debits, view.credits) == (total, total)
    assert view.movements == {}
    assert view.sound


async def test_installing_twice_changes_nothing(issuer_engine: Engine) -> None:
    async with running_issuer(issuer_engine) as issuer:
        await issuer.authorise(sale(RICH.pan, RICH.expiry, 1_000, reference="before"))
        once = ledger_view(issuer_engine)
        await issuer.install_test_cards()
    async with running_issuer(issuer_engine):  # a restart installs again
        pass
    assert ledger_view(issuer_engine) == once
    assert card_balance(issuer_engine, RICH) == RICH.opening_balance - Money(1_000, "CNY")


async def test_no_table_and_no_log_line_holds_a_full_card_number(
    issuer_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pans = [card.pan for card in TEST_CARDS] + [UNKNOWN_CARD_PAN]
    async with running_issuer(issuer_engine) as issuer:
        for number, pan in enumerate(pans):
            expiry = next((c.expiry for c in TEST_CARDS if c.pan == pan), "3012")
            await issuer.authorise(sale(pan, expiry, 100, reference=f"s{number}"))
            inquiry = sale(pan, expiry, 0, reference=f"q{number}", kind=Kind.BALANCE_INQUIRY)
            await issuer.authorise(inquiry)
        await issuer.reverse("s0")
    texts = list(_every_text_value(issuer_engine))
    assert len(texts) > 100  # the scan did see the data
    leaks = [(where, pan) for where, text in texts for pan in pans if pan in text]
    assert leaks == []
    assert not [pan for pan in pans if pan in caplog.text]
    masked = [text for where, text in texts if where.endswith(".pan_masked")]
    assert f"{RICH.pan[:6]}******{RICH.pan[-4:]}" in masked


def _every_text_value(engine: Engine) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            text_columns = [c for c in table.columns if isinstance(c.type, String)]
            for row in conn.execute(select(*text_columns)):
                for column, value in zip(text_columns, row, strict=True):
                    if value is not None:
                        found.append((f"{table.name}.{column.name}", str(value)))
    return found
