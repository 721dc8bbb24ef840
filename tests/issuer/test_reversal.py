"""Reversal and status query: money comes back once, and a late original never moves it."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from pospay.money import Money

from .support import LOW, RICH, card_balance, ledger_view, running_issuer, sale


async def test_reversing_an_approved_sale_gives_the_money_back_once(issuer_engine: Engine) -> None:
    async with running_issuer(issuer_engine) as issuer:
        approved = await issuer.authorise(sale(RICH.pan, RICH.expiry, 2_500, reference="r1"))
        reversals = await asyncio.gather(*(issuer.reverse("r1") for _ in range(3)))
        again = await issuer.reverse("r1")
        replay = await issuer.authorise(sale(RICH.pan, RICH.expiry, 2_500, reference="r1"))
    assert approved.response_code == "00"
    assert {r.response_code for r in [*reversals, again]} == {"00"}
    assert again.balance == RICH.opening_balance
    assert card_balance(issuer_engine, RICH) == RICH.opening_balance
    assert replay == approved  # the original answer stands; the money stays returned
    view = ledger_view(issuer_engine)
    assert view.movements == {}
    assert view.sound


async def test_reversing_a_decline_moves_nothing(issuer_engine: Engine) -> None:
    whole = LOW.opening_balance.minor
    async with running_issuer(issuer_engine) as issuer:
        declined = await issuer.authorise(sale(LOW.pan, LOW.expiry, whole + 1, reference="d1"))
        before = ledger_view(issuer_engine)
        reversal = await issuer.reverse("d1")
        stored = await issuer.query("d1")
    assert declined.response_code == "51"
    assert reversal.response_code == "00"
    assert stored == declined
    assert ledger_view(issuer_engine) == before


async def test_a_reversal_before_its_original_makes_the_late_original_decline(
    issuer_engine: Engine,
) -> None:
    async with running_issuer(issuer_engine) as issuer:
        early = await issuer.reverse("late")
        late = await issuer.authorise(sale(RICH.pan, RICH.expiry, 4_000, reference="late"))
        status = await issuer.query("late")
    assert early.response_code == "00"
    assert late.response_code == "25"
    assert status == late
    assert card_balance(issuer_engine, RICH) == RICH.opening_balance
    assert ledger_view(issuer_engine).movements == {}


async def test_query_returns_the_stored_answer_or_none(issuer_engine: Engine) -> None:
    async with running_issuer(issuer_engine) as issuer:
        approved = await issuer.authorise(sale(RICH.pan, RICH.expiry, 100, reference="known"))
        assert await issuer.query("known") == approved
        assert await issuer.query("never-sent") is None
    assert approved.balance == RICH.opening_balance - Money(100, "CNY")
