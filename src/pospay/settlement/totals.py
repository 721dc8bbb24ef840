"""Batch totals, as data and as field 63 of a 0500/0510.

Which attempts count, and on which side:

- debits: sales and pre-authorisation completions whose money moved (approved or
  settled; a sale later refunded still counts: the refund is a credit of its own);
- credits: refunds whose money moved;
- nothing else: voids (the voided sale is no longer approved either), declines,
  reversals, inquiries, pre-authorisations and cancels move no money at settlement.

Field 63 of a settlement message is 36 digits: debit count (n6), debit amount (n12),
credit count (n6), credit amount (n12), amounts in minor units of field 49.

>>> totals_field(BatchTotals(debit_count=2, debit_minor=3750, credit_count=1, credit_minor=500))
'000002000000003750000001000000000500'
>>> read_totals_field('000002000000003750000001000000000500').net_minor
3250
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pospay.errors import MessageFormatError
from pospay.transaction import Kind, State

DEBIT_KINDS = frozenset({Kind.SALE, Kind.PREAUTH_COMPLETION})
CREDIT_KINDS = frozenset({Kind.REFUND})

# The states in which an attempt of each counted kind is part of its batch's totals.
SETTLED_BY_KIND: Mapping[Kind, frozenset[State]] = MappingProxyType(
    {
        Kind.SALE: frozenset({State.APPROVED, State.SETTLED, State.REFUNDED}),
        Kind.PREAUTH_COMPLETION: frozenset({State.APPROVED, State.SETTLED, State.REFUNDED}),
        Kind.REFUND: frozenset({State.APPROVED, State.SETTLED}),
    }
)

_FIELD_LENGTH = 36


@dataclass(frozen=True, slots=True)
class KindTotal:
    kind: Kind
    count: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class BatchTotals:
    debit_count: int = 0
    debit_minor: int = 0
    credit_count: int = 0
    credit_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.debit_minor - self.credit_minor


def counted(kind: str, state: str) -> bool:
    """Whether an attempt of `kind` in `state` is part of its batch's totals."""
    return State(state) in SETTLED_BY_KIND.get(Kind(kind), frozenset())


def by_kind(rows: Iterable[tuple[str, str, int]]) -> list[KindTotal]:
    """Per-kind counts and amounts of the counted (kind, state, amount) rows, in kind order."""
    totals: dict[Kind, tuple[int, int]] = {}
    for kind, state, amount in rows:
        if counted(kind, state):
            count, minor = totals.get(Kind(kind), (0, 0))
            totals[Kind(kind)] = (count + 1, minor + amount)
    return [KindTotal(kind, *totals[kind]) for kind in SETTLED_BY_KIND if kind in totals]


def totals_of(rows: Iterable[tuple[str, str, int]]) -> BatchTotals:
    """The batch totals of (kind, state, amount) rows; rows that do not count are ignored."""
    debit_count = debit_minor = credit_count = credit_minor = 0
    for total in by_kind(rows):
        if total.kind in DEBIT_KINDS:
            debit_count += total.count
            debit_minor += total.amount_minor
        else:
            credit_count += total.count
            credit_minor += total.amount_minor
    return BatchTotals(debit_count, debit_minor, credit_count, credit_minor)


def totals_field(totals: BatchTotals) -> str:
    """Field 63 of a 0500 or 0510."""
    return (
        f"{totals.debit_count:06d}{totals.debit_minor:012d}"
        f"{totals.credit_count:06d}{totals.credit_minor:012d}"
    )


def read_totals_field(value: str) -> BatchTotals:
    """The totals in field 63; anything but 36 digits is a format error."""
    if len(value) != _FIELD_LENGTH or not value.isdigit():
        raise MessageFormatError("field 63 must be 36 digits of settlement totals", field="63")
    return BatchTotals(int(value[:6]), int(value[6:18]), int(value[18:24]), int(value[24:36]))
