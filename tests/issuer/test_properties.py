"""Property: whatever sales arrive, in whatever order and however repeated, the ledger stays sound.

Sound means: no balance below zero, debits equal credits, every entry balances, every
balance equals its postings, and money moved for exactly the sales answered "00".
"""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from pospay.channels import CardAuthorisation, CardResult
from pospay.errors import AnswerLost
from pospay.issuer import MAGIC_AMOUNTS, SINGLE_SALE_LIMIT, TEST_CARDS, UNKNOWN_CARD_PAN
from pospay.money import Money

from .support import ledger_view, running_issuer, sale

PANS = [card.pan for card in TEST_CARDS] + [UNKNOWN_CARD_PAN]
EXPIRY = {card.pan: card.expiry for card in TEST_CARDS}
AMOUNTS = st.one_of(
    st.integers(min_value=1, max_value=3_000_000),
    st.sampled_from([*MAGIC_AMOUNTS, SINGLE_SALE_LIMIT, SINGLE_SALE_LIMIT + 1, 1_000, 1_001]),
)
# (card, amount, which earlier request to repeat instead, if any)
SALES = st.lists(
    st.tuples(st.sampled_from(PANS), AMOUNTS, st.none() | st.integers(min_value=0)),
    min_size=1,
    max_size=25,
)
_examples = itertools.count()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sales=SALES)
async def test_any_sequence_of_sales_keeps_the_ledger_sound(
    issuer_engine: Engine, sales: list[tuple[str, int, int | None]]
) -> None:
    # The database outlives the examples, so each example's references are its own.
    prefix = f"e{next(_examples)}-"
    requests: list[CardAuthorisation] = []
    for number, (pan, minor, repeat) in enumerate(sales):
        if repeat is not None and requests:
            requests.append(requests[repeat % len(requests)])
        else:
            expiry = EXPIRY.get(pan, "3012")
            requests.append(sale(pan, expiry, minor, reference=f"{prefix}{number}"))

    before = ledger_view(issuer_engine)
    async with running_issuer(issuer_engine) as issuer:

        async def decided(request: CardAuthorisation) -> CardResult:
            try:
                return await issuer.authorise(request)
            except AnswerLost:  # 666.91: decided and stored, the answer not given
                stored = await issuer.query(request.reference)
                assert stored is not None
                return stored

        answers = await asyncio.gather(*(decided(r) for r in requests))
    after = ledger_view(issuer_engine)

    assert after.sound
    by_reference: dict[str, CardResult] = {}
    for answer in answers:
        assert by_reference.setdefault(answer.reference, answer) == answer  # one answer each
    approved = {
        request.reference: request.amount
        for request in requests
        if by_reference[request.reference].response_code == "00"
    }
    moved = {ref: amount for ref, amount in after.movements.items() if ref.startswith(prefix)}
    assert moved == approved
    spent = sum(approved.values(), Money(0, "CNY"))
    settlement = after.balances["settlement"] - before.balances.get("settlement", 0)
    assert settlement == spent.minor
