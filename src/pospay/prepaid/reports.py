"""What the programme's books say, for people: one card's statement, and the ledger report.

A card's statement lists every entry that touched the card, oldest first, each with the
balance after it; its closing balance is the card's balance, which the statement
proves from the entries (`Statement.proven`). The ledger report totals the postings by
kind of account and checks the zero-sum: every debit has its credit (total debits equal
total credits, entry by entry), every balance is the sum of its postings, none is
negative, and the balances of the debit-normal accounts (what shops owe the programme,
what it must recover) equal those of the credit-normal ones (what it holds for card
holders and owes shops, and what expired).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, case, func, select

from pospay.ledger import LedgerCheck, NormalSide
from pospay.money import Money
from pospay.prepaid import books
from pospay.prepaid.cards import PrepaidCard, find_card
from pospay.prepaid.tables import prepaid_account, prepaid_entry, prepaid_operation, prepaid_posting
from pospay.transaction import Kind

_STATUS_KINDS = (
    Kind.PREPAID_ISSUE,
    Kind.PREPAID_ACTIVATE,
    Kind.PREPAID_FREEZE,
    Kind.PREPAID_UNFREEZE,
)


@dataclass(frozen=True, slots=True)
class StatementLine:
    at: datetime
    reference: str  # the host's RRN, or the expiry job's reference
    purpose: str  # pay, refund, top_up, card_top_up, reversal, shortfall, expiry
    amount: Money  # signed for the card: a credit to it positive, a debit negative
    balance: Money  # the card's balance after this line


@dataclass(frozen=True, slots=True)
class CardEvent:
    """A status change of the card: issued, activated, frozen, unfrozen (and if reversed)."""

    at: datetime
    reference: str
    kind: str
    state: str  # approved | reversed


@dataclass(frozen=True, slots=True)
class Statement:
    card: PrepaidCard
    lines: list[StatementLine]
    events: list[CardEvent]

    @property
    def closing(self) -> Money:
        return self.lines[-1].balance if self.lines else Money(0, self.card.balance.currency)

    @property
    def proven(self) -> bool:
        """Whether the entries add up to the balance the card's account holds."""
        return self.closing == self.card.balance


@dataclass(frozen=True, slots=True)
class KindTotal:
    """The postings of one kind of account, and the balances they left."""

    kind: str
    normal_side: str
    accounts: int
    debits_minor: int
    credits_minor: int
    balance_minor: int


@dataclass(frozen=True, slots=True)
class LedgerReport:
    by_kind: list[KindTotal]
    check: LedgerCheck

    @property
    def debit_normal_minor(self) -> int:
        debit = NormalSide.DEBIT.value
        return sum(t.balance_minor for t in self.by_kind if t.normal_side == debit)

    @property
    def credit_normal_minor(self) -> int:
        credit = NormalSide.CREDIT.value
        return sum(t.balance_minor for t in self.by_kind if t.normal_side == credit)

    @property
    def balanced(self) -> bool:
        """The zero-sum: the books are sound and both sides' balances are equal."""
        return self.check.sound and self.debit_normal_minor == self.credit_normal_minor


def card_statement(conn: Connection, account_id: str) -> Statement | None:
    """The statement of the card `account_id`; None when the programme has no such card."""
    card = find_card(conn, account_id)
    if card is None:
        return None
    e, p, o = prepaid_entry.c, prepaid_posting.c, prepaid_operation.c
    rows = conn.execute(
        select(e.created_at, e.reference, e.purpose, e.currency, p.side, p.amount_minor)
        .join(prepaid_posting, p.entry_id == e.entry_id)
        .where(p.account_id == account_id)
        .order_by(e.entry_id)
    ).all()
    lines, running = [], 0
    for row in rows:
        signed = int(row.amount_minor) if row.side == "C" else -int(row.amount_minor)
        running += signed
        lines.append(
            StatementLine(
                row.created_at,
                row.reference,
                row.purpose,
                Money(signed, row.currency),
                Money(running, row.currency),
            )
        )
    events = [
        CardEvent(row.created_at, row.reference, row.kind, row.state)
        for row in conn.execute(
            select(o.created_at, o.reference, o.kind, o.state)
            .where(
                o.account_id == account_id,
                o.kind.in_([kind.value for kind in _STATUS_KINDS]),
                o.state != "declined",
            )
            .order_by(o.created_at, o.reference)
        )
    ]
    return Statement(card, lines, events)


def ledger_report(conn: Connection) -> LedgerReport:
    """Totals per kind of account and the zero-sum check of the programme's books."""
    a, p = prepaid_account.c, prepaid_posting.c
    postings = (
        select(
            p.account_id,
            func.sum(case((p.side == "D", p.amount_minor), else_=0)).label("debits"),
            func.sum(case((p.side == "C", p.amount_minor), else_=0)).label("credits"),
        )
        .group_by(p.account_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            a.kind,
            a.normal_side,
            func.count(),
            func.coalesce(func.sum(postings.c.debits), 0),
            func.coalesce(func.sum(postings.c.credits), 0),
            func.coalesce(func.sum(a.balance_minor), 0),
        )
        .select_from(prepaid_account.outerjoin(postings, postings.c.account_id == a.account_id))
        .group_by(a.kind, a.normal_side)
        .order_by(a.kind)
    ).all()
    totals = [
        KindTotal(kind, side, int(count), int(debits), int(credits), int(held))
        for kind, side, count, debits, credits, held in rows
    ]
    return LedgerReport(totals, books.check(conn))
