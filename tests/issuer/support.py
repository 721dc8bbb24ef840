"""What the issuer's tests share: the cards by role, requests, a running simulator, ledger views."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, select

from pospay.cards import pan_reference
from pospay.channels import CardAuthorisation
from pospay.clock import ManualClock
from pospay.issuer import (
    TEST_CARDS,
    IssuerSimulator,
    TestCard,
    approved_movements,
    balance,
    balance_mismatches,
    negative_balances,
    trial_balance,
    unbalanced_entries,
)
from pospay.issuer.card_file import card_account_id
from pospay.issuer.tables import issuer_account
from pospay.money import Money
from pospay.storage import GroupCommitter
from pospay.transaction import Kind

PAN_KEY = b"issuer-tests-pan-key"

# Opens another engine on the test's database, as a second process would.
EngineFactory = Callable[[], Engine]
CLOCK_TODAY = ManualClock().now()

# The cards by the role they play, found from the data rather than by position.
ACTIVE = [
    c for c in TEST_CARDS if c.status == "active" and c.expiry >= CLOCK_TODAY.strftime("%y%m")
]
RICH = max(ACTIVE, key=lambda c: c.opening_balance.minor)
LOW = min(ACTIVE, key=lambda c: c.opening_balance.minor)
EXPIRED = next(c for c in TEST_CARDS if c.expiry < CLOCK_TODAY.strftime("%y%m"))
RESTRICTED = next(c for c in TEST_CARDS if c.status == "restricted")


def sale(
    pan: str,
    expiry: str,
    minor: int,
    *,
    reference: str,
    kind: Kind = Kind.SALE,
    currency: str = "CNY",
) -> CardAuthorisation:
    """A request as the host would send it, dated the simulator's today."""
    return CardAuthorisation(
        reference=reference,
        kind=kind,
        pan=pan,
        expiry=expiry,
        amount=Money(minor, currency),
        merchant_id="104110000000001",
        terminal_id="T0000001",
        at=CLOCK_TODAY,
    )


@asynccontextmanager
async def running_issuer(engine: Engine) -> AsyncIterator[IssuerSimulator]:
    """An issuer simulator with its test cards installed, on a group committer of its own."""
    async with GroupCommitter(engine) as committer:
        issuer = IssuerSimulator(committer, ManualClock(), PAN_KEY)
        await issuer.install_test_cards()
        yield issuer


@dataclass(frozen=True)
class LedgerView:
    """Everything the auditor reads back, in one comparable value."""

    balances: dict[str, int]
    movements: dict[str, Money]
    debits: int
    credits: int
    negative: int
    unbalanced: int
    mismatched: int

    @property
    def sound(self) -> bool:
        return (
            self.debits == self.credits
            and self.negative == 0
            and self.unbalanced == 0
            and self.mismatched == 0
        )


def ledger_view(engine: Engine) -> LedgerView:
    with engine.connect() as conn:
        rows = conn.execute(select(issuer_account.c.account_id, issuer_account.c.balance_minor))
        balances = {row.account_id: int(row.balance_minor) for row in rows}
        debits, credits = trial_balance(conn)
        return LedgerView(
            balances=balances,
            movements=approved_movements(conn),
            debits=debits,
            credits=credits,
            negative=negative_balances(conn),
            unbalanced=unbalanced_entries(conn),
            mismatched=balance_mismatches(conn),
        )


def card_balance(engine: Engine, card: TestCard) -> Money:
    """What `card` has available now."""
    with engine.connect() as conn:
        return balance(conn, card_account_id(pan_reference(card.pan, PAN_KEY)))
