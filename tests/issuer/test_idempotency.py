"""No request moves money twice, and no burst of requests takes a balance below zero."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from pospay.clock import ManualClock
from pospay.issuer import IssuerSimulator
from pospay.money import Money
from pospay.storage import GroupCommitter

from .support import (
    LOW,
    PAN_KEY,
    RICH,
    EngineFactory,
    card_balance,
    ledger_view,
    running_issuer,
    sale,
)


async def test_a_repeated_reference_gets_the_first_answer_and_moves_nothing(
    issuer_engine: Engine,
) -> None:
    request = sale(RICH.pan, RICH.expiry, 5_000, reference="same")
    async with running_issuer(issuer_engine) as issuer:
        first = await issuer.authorise(request)
        after_first = ledger_view(issuer_engine)
        again = await issuer.authorise(request)
    assert first.response_code == "00"
    assert again == first
    assert ledger_view(issuer_engine) == after_first


async def test_a_replay_keeps_the_first_answer_even_when_the_card_changed(
    issuer_engine: Engine,
) -> None:
    whole = LOW.opening_balance.minor
    async with running_issuer(issuer_engine) as issuer:
        declined = await issuer.authorise(sale(LOW.pan, LOW.expiry, whole + 1, reference="big"))
        await issuer.authorise(sale(LOW.pan, LOW.expiry, whole, reference="spend"))
        replayed = await issuer.authorise(sale(LOW.pan, LOW.expiry, whole + 1, reference="big"))
        inquiry = await issuer.authorise(sale(LOW.pan, LOW.expiry, 1, reference="spend"))
    assert declined.response_code == "51"
    assert replayed == declined
    assert inquiry.balance == Money(0, "CNY")  # the stored answer of "spend", not a new one
    assert ledger_view(issuer_engine).movements == {"spend": Money(whole, "CNY")}


async def test_concurrent_duplicates_move_money_once(issuer_engine: Engine) -> None:
    request = sale(RICH.pan, RICH.expiry, 7_000, reference="twin")
    async with running_issuer(issuer_engine) as issuer:
        answers = await asyncio.gather(*(issuer.authorise(request) for _ in range(5)))
    assert {answer.response_code for answer in answers} == {"00"}
    assert all(answer == answers[0] for answer in answers)
    assert ledger_view(issuer_engine).movements == {"twin": Money(7_000, "CNY")}
    assert card_balance(issuer_engine, RICH) == RICH.opening_balance - Money(7_000, "CNY")


async def test_fifty_concurrent_sales_never_take_the_low_card_below_zero(
    issuer_engine: Engine,
) -> None:
    price = 100
    affordable = LOW.opening_balance.minor // price
    requests = [sale(LOW.pan, LOW.expiry, price, reference=f"burst-{i}") for i in range(50)]
    async with running_issuer(issuer_engine) as issuer:
        answers = await asyncio.gather(*(issuer.authorise(r) for r in requests))
    codes = [answer.response_code for answer in answers]
    assert codes.count("00") == affordable
    assert codes.count("51") == 50 - affordable
    assert card_balance(issuer_engine, LOW) == Money(LOW.opening_balance.minor % price, "CNY")
    view = ledger_view(issuer_engine)
    assert view.sound
    assert len(view.movements) == affordable


async def test_two_issuer_processes_on_one_database_agree(
    issuer_engine: Engine, engines: EngineFactory
) -> None:
    """Two committers on two engines stand for two processes: the database decides."""
    second_engine = engines()  # the same database, connections of its own
    price = 100
    affordable = LOW.opening_balance.minor // price
    # Both processes receive every request: the host retried each on the other one.
    requests = [sale(LOW.pan, LOW.expiry, price, reference=f"p-{i}") for i in range(30)]
    async with (
        running_issuer(issuer_engine) as one,
        GroupCommitter(second_engine) as committer,
    ):
        two = IssuerSimulator(committer, ManualClock(), PAN_KEY)
        await two.install_test_cards()
        answers_one, answers_two = await asyncio.gather(
            asyncio.gather(*(one.authorise(r) for r in requests)),
            asyncio.gather(*(two.authorise(r) for r in reversed(requests))),
        )
    assert answers_one == list(reversed(answers_two))
    assert [a.response_code for a in answers_one].count("00") == affordable
    view = ledger_view(issuer_engine)
    assert view.sound
    assert len(view.movements) == affordable
