"""Authorisation through the `CardChannel` interface: approvals move money, declines do not."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from pospay.channels import CardChannel
from pospay.errors import AnswerLost
from pospay.iso8583.response_codes import RESPONSE_CODES
from pospay.issuer import MAGIC_AMOUNTS, SINGLE_SALE_LIMIT, UNKNOWN_CARD_PAN
from pospay.issuer.decision import ANSWER_LOST
from pospay.money import Money
from pospay.transaction import Kind

from .support import EXPIRED, LOW, RESTRICTED, RICH, card_balance, ledger_view, running_issuer, sale


async def test_an_approved_sale_moves_exactly_its_amount(issuer_engine: Engine) -> None:
    async with running_issuer(issuer_engine) as issuer:
        channel: CardChannel = issuer  # the host sees only the protocol
        before = ledger_view(issuer_engine)
        result = await channel.authorise(sale(RICH.pan, RICH.expiry, 12_345, reference="r1"))
    after = ledger_view(issuer_engine)
    assert result.response_code == "00"
    assert result.auth_code is not None and len(result.auth_code) == 6
    assert result.balance == RICH.opening_balance - Money(12_345, "CNY")
    assert card_balance(issuer_engine, RICH) == result.balance
    assert after.movements == {"r1": Money(12_345, "CNY")}
    assert after.debits - before.debits == after.credits - before.credits == 12_345
    assert after.sound


async def test_a_balance_inquiry_reports_the_balance_and_moves_nothing(
    issuer_engine: Engine,
) -> None:
    async with running_issuer(issuer_engine) as issuer:
        before = ledger_view(issuer_engine)
        inquiry = sale(LOW.pan, LOW.expiry, 0, reference="q1", kind=Kind.BALANCE_INQUIRY)
        result = await issuer.authorise(inquiry)
    assert (result.response_code, result.balance) == ("00", LOW.opening_balance)
    assert result.auth_code is not None
    assert ledger_view(issuer_engine) == before


OVER_LOW = LOW.opening_balance.minor + 1

DECLINES = [
    pytest.param(UNKNOWN_CARD_PAN, "3012", 100, Kind.SALE, "CNY", "14", id="unknown-card"),
    pytest.param(RESTRICTED.pan, RESTRICTED.expiry, 100, Kind.SALE, "CNY", "62", id="restricted"),
    pytest.param(EXPIRED.pan, EXPIRED.expiry, 100, Kind.SALE, "CNY", "54", id="expired"),
    pytest.param(RICH.pan, "2501", 100, Kind.SALE, "CNY", "54", id="wrong-expiry"),
    *(
        pytest.param(RICH.pan, RICH.expiry, minor, Kind.SALE, "CNY", code, id=f"magic-{minor}")
        for minor, code in MAGIC_AMOUNTS.items()
        if code != ANSWER_LOST  # decided like any amount, then not answered: below
    ),
    pytest.param(RICH.pan, RICH.expiry, SINGLE_SALE_LIMIT + 1, Kind.SALE, "CNY", "61", id="limit"),
    pytest.param(LOW.pan, LOW.expiry, OVER_LOW, Kind.SALE, "CNY", "51", id="insufficient-funds"),
    pytest.param(RICH.pan, RICH.expiry, 100, Kind.SETTLEMENT, "CNY", "12", id="unsupported-kind"),
    pytest.param(RICH.pan, RICH.expiry, 100, Kind.SALE, "USD", "13", id="wrong-currency"),
    pytest.param("12345", "3012", 100, Kind.SALE, "CNY", "14", id="not-a-card-number"),
]


@pytest.mark.parametrize(("pan", "expiry", "minor", "kind", "currency", "code"), DECLINES)
async def test_every_decline_moves_nothing_and_records_why(
    issuer_engine: Engine, pan: str, expiry: str, minor: int, kind: Kind, currency: str, code: str
) -> None:
    request = sale(pan, expiry, minor, reference="d1", kind=kind, currency=currency)
    async with running_issuer(issuer_engine) as issuer:
        before = ledger_view(issuer_engine)
        result = await issuer.authorise(request)
        stored = await issuer.query("d1")
    assert (result.response_code, result.auth_code, result.balance) == (code, None, None)
    assert code in RESPONSE_CODES
    assert result.reason
    assert stored == result
    assert ledger_view(issuer_engine) == before


async def test_the_whole_balance_can_be_spent_and_no_more(issuer_engine: Engine) -> None:
    whole = LOW.opening_balance.minor
    async with running_issuer(issuer_engine) as issuer:
        spent = await issuer.authorise(sale(LOW.pan, LOW.expiry, whole, reference="all"))
        more = await issuer.authorise(sale(LOW.pan, LOW.expiry, 1, reference="one-more"))
    assert (spent.response_code, spent.balance) == ("00", Money(0, "CNY"))
    assert more.response_code == "51"
    assert "0.00" in more.reason
    assert ledger_view(issuer_engine).sound


LOST = next(minor for minor, code in MAGIC_AMOUNTS.items() if code == ANSWER_LOST)


async def test_a_sale_of_666_91_is_approved_and_debited_and_its_answer_lost(
    issuer_engine: Engine,
) -> None:
    async with running_issuer(issuer_engine) as issuer:
        request = sale(RICH.pan, RICH.expiry, LOST, reference="lost")
        with pytest.raises(AnswerLost) as lost:
            await issuer.authorise(request)
        assert isinstance(lost.value, TimeoutError)  # a caller's timeout catches it
        stored = await issuer.query("lost")
        again = await issuer.authorise(request)  # the stored answer, once it is asked for
        assert stored is not None and again == stored
        assert (stored.response_code, stored.balance) == (
            "00",
            RICH.opening_balance - Money(LOST, "CNY"),
        )
        assert ledger_view(issuer_engine).movements == {"lost": Money(LOST, "CNY")}
        assert (await issuer.reverse("lost")).response_code == "00"
    assert ledger_view(issuer_engine).movements == {}
    assert card_balance(issuer_engine, RICH) == RICH.opening_balance


@pytest.mark.parametrize(
    ("pan", "expiry", "code"),
    [(LOW.pan, LOW.expiry, "51"), (EXPIRED.pan, EXPIRED.expiry, "54")],
    ids=["low-balance", "expired"],
)
async def test_666_91_loses_the_answer_only_of_a_sale_that_passes_the_card_checks(
    issuer_engine: Engine, pan: str, expiry: str, code: str
) -> None:
    """A balance too low is decided with the money, so that answer is lost too; a card
    check answers before the magic amount is looked at."""
    async with running_issuer(issuer_engine) as issuer:
        request = sale(pan, expiry, LOST, reference="d1")
        if code == "51":
            with pytest.raises(AnswerLost):
                await issuer.authorise(request)
        else:
            assert (await issuer.authorise(request)).response_code == code
        stored = await issuer.query("d1")
    assert stored is not None and stored.response_code == code
    assert ledger_view(issuer_engine).movements == {}
