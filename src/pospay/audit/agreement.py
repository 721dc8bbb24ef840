"""Three-way agreement of terminal journal, host journal and issuer ledger.

Invariants checked (numbers as in SPEC.md):

1. ``final``: every attempt is final on the terminal and on the host.
2. ``outcome``: terminal and host agree on each attempt's outcome and amount, and
   the money standing at the issuer for each host attempt (`approved_movements`) is
   what the host's journal says it must be (`expected_movement`): a sale, completion
   or transfer the host approved and did not reverse or void moves its amount (a
   refunded sale too: its refunds are attempts of their own); a refund moves its
   amount back, counted negative; a pre-authorisation holds its amount until a
   completion is approved or it is cancelled (VOIDED); a void, a cancel and a balance
   inquiry move nothing of their own, their effect is on their original.
3. ``once``: no attempt moved money twice, and every attempt exists on both sides.
4. ``receipt``: every money-moving attempt that was approved (and may since have
   been voided, refunded or settled) has exactly one original receipt of each copy;
   nothing else has an original receipt.
5. ``settlement``: settled batches agree with the journals and with each other
   (`pospay.audit.settlement`).
6. ``ledger``: the issuer ledger balances and no balance is negative; so does the
   prepaid programme's, in the host's database, whose operations count in (2) like the
   issuer's (a payment moves its amount, a refund or top-up moves it back to the card).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, inspect, select

from pospay.audit.findings import Finding
from pospay.audit.settlement import settlement_findings
from pospay.audit.wallets import wallet_ledger_findings, wallet_movements
from pospay.host.refusals import refused_codes
from pospay.host.tables import host_journal
from pospay.issuer.ledger import (
    approved_movements,
    balance_mismatches,
    negative_balances,
    trial_balance,
    unbalanced_entries,
)
from pospay.ledger import LedgerCheck
from pospay.prepaid import approved_movements as prepaid_movements
from pospay.prepaid import check as check_prepaid
from pospay.terminal.tables import terminal_journal, terminal_receipt
from pospay.transaction import MONEY_MOVED_STATES, Kind, State, is_final

RECEIPT_COPIES = ("merchant", "customer")


@dataclass
class AgreementReport:
    attempts: int = 0
    host_rows: int = 0
    issuer_movements: int = 0
    prepaid_movements: int = 0
    # The prepaid programme's books as read back (None: the host keeps none).
    prepaid_ledger: LedgerCheck | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ledger_balanced(self) -> bool:
        """Whether the prepaid ledger's postings sum to zero, entry by entry and account by
        account, with no balance negative (true when the host keeps no prepaid ledger)."""
        return self.prepaid_ledger is None or self.prepaid_ledger.sound

    def prepaid_summary(self) -> dict[str, Any]:
        """The prepaid ledger as reports show it: its standing movements and zero-sum check
        (empty when the host keeps no prepaid ledger)."""
        books = self.prepaid_ledger
        if books is None:
            return {}
        return {
            "movements": self.prepaid_movements,
            "ledger_balanced": self.ledger_balanced,
            "debits_minor": books.trial.debits_minor,
            "credits_minor": books.trial.credits_minor,
            "negative_balances": books.negative_balances,
        }

    @property
    def agreement(self) -> bool:
        return not self.findings

    def by_invariant(self) -> dict[str, int]:
        counts = Counter(finding.invariant for finding in self.findings)
        return {
            name: counts.get(name, 0)
            for name in ("final", "outcome", "once", "receipt", "settlement", "ledger")
        }


def check_agreement(
    terminal: Engine, host: Engine, issuer: Engine, wallets: Engine | None = None
) -> AgreementReport:
    """Compare the records and report every disagreement; with `wallets`, the money of
    QR payments is checked at the wallet simulator (`audit.wallets`)."""
    report = AgreementReport()
    with terminal.connect() as connection:
        terminal_rows = list(connection.execute(select(terminal_journal)))
        receipts = Counter(
            (row.journal_id, row.copy)
            for row in connection.execute(
                select(terminal_receipt.c.journal_id, terminal_receipt.c.copy).where(
                    terminal_receipt.c.reprint_number == 0
                )
            )
        )
    with host.connect() as connection:
        host_rows = list(connection.execute(select(host_journal)))
        duplicates = connection.execute(
            select(func.count())
            .select_from(host_journal)
            .group_by(
                host_journal.c.terminal_id, host_journal.c.stan, host_journal.c.transmission_at
            )
            .having(func.count() > 1)
        ).all()
        prepaid = _prepaid_books(connection)
        refusals = refused_codes(connection)
    with issuer.connect() as connection:
        movements = approved_movements(connection)
        totals = trial_balance(connection)
        negatives = negative_balances(connection)
        unbalanced = unbalanced_entries(connection)
        mismatches = balance_mismatches(connection)
    wallet_findings: list[Finding] = []
    if wallets is not None:
        with wallets.connect() as connection:
            movements = movements | wallet_movements(connection)
            wallet_findings = wallet_ledger_findings(connection)

    report.attempts = len(terminal_rows)
    report.host_rows = len(host_rows)
    report.issuer_movements = len(movements)
    if prepaid is not None:
        own_movements, report.prepaid_ledger = prepaid
        report.prepaid_movements = len(own_movements)
        movements = movements | own_movements  # RRNs: unique across both channels
    add = report.findings.append

    host_by_key = {_key(row): row for row in host_rows}
    terminal_keys = {_key(row) for row in terminal_rows}
    for row in terminal_rows:
        key = _key(row)
        if not is_final(State(row.state)):
            add(Finding("final", key, f"terminal state is {row.state}"))
        host_row = host_by_key.get(key)
        if host_row is None:
            # Unknown to the host's journal is fine only for what moved nothing: never
            # sent (declined locally), reversed after the host confirmed it never saw the
            # original (25), or declined with the answer the host's refusal log gave
            # that key (58: refused before it could be authenticated, `host.refusals`).
            unanswered = row.state in (State.DECLINED, State.REVERSED) and row.response_code is None
            refused = State(row.state) is State.DECLINED and row.response_code in refusals.get(
                key, ()
            )
            if State(row.state) in MONEY_MOVED_STATES:
                add(Finding("once", key, "approved on the terminal but unknown to the host"))
            elif not (unanswered or refused):
                add(Finding("once", key, "answered on the terminal but unknown to the host"))
        else:
            _compare(row, host_row, add)
        _check_receipts(row, receipts, add)
    for host_row in host_rows:
        key = _key(host_row)
        if not is_final(State(host_row.state)):
            add(Finding("final", key, f"host state is {host_row.state}"))
        if key not in terminal_keys:
            add(Finding("once", key, "on the host but not in the terminal journal"))
    _check_money(host_rows, movements, add)
    report.findings.extend(settlement_findings(terminal, host))
    report.findings.extend(wallet_findings)
    if duplicates:
        add(Finding("once", "-", f"{len(duplicates)} request keys journaled more than once"))
    if not totals.balanced:
        add(
            Finding(
                "ledger",
                "-",
                f"issuer debits {totals.debits_minor} differ from credits {totals.credits_minor}",
            )
        )
    if unbalanced:
        add(Finding("ledger", "-", f"{unbalanced} issuer entries do not balance"))
    if mismatches:
        add(Finding("ledger", "-", f"{mismatches} issuer balances differ from their postings"))
    if negatives:
        add(Finding("ledger", "-", f"{negatives} issuer accounts have a negative balance"))
    if report.prepaid_ledger is not None:
        for problem in report.prepaid_ledger.problems("prepaid"):
            add(Finding("ledger", "-", problem))
    return report


def _prepaid_books(connection: Connection) -> tuple[dict[str, Any], LedgerCheck] | None:
    """The prepaid programme's standing movements and ledger check, if the host has one."""
    if not inspect(connection).has_table("prepaid_operation"):
        return None
    return prepaid_movements(connection), check_prepaid(connection)


def _key(row: Row[Any]) -> str:
    return f"{row.terminal_id}/{row.stan}/{row.transmission_at}"


def _compare(row: Row[Any], host_row: Row[Any], add: Any) -> None:
    key = _key(row)
    terminal_moved = State(row.state) in MONEY_MOVED_STATES
    host_moved = State(host_row.state) in MONEY_MOVED_STATES
    if terminal_moved != host_moved:
        add(Finding("outcome", key, f"terminal says {row.state}, host says {host_row.state}"))
    if (row.amount_minor, row.currency) != (host_row.amount_minor, host_row.currency):
        add(Finding("outcome", key, "terminal and host amounts differ"))
    if row.response_code is not None and row.response_code != host_row.response_code:
        add(
            Finding(
                "outcome",
                key,
                f"response code {row.response_code} vs host {host_row.response_code}",
            )
        )


# States of an attempt that was approved once, and so printed its receipts.
_WAS_APPROVED = frozenset({State.APPROVED, State.SETTLED, State.VOIDED, State.REFUNDED})
# Signs of the money each kind moves at the issuer for itself (see `expected_movement`).
_SIGN = {
    Kind.SALE: 1,
    Kind.PREAUTH: 1,
    Kind.PREAUTH_COMPLETION: 1,
    Kind.TRANSFER: 1,
    Kind.REFUND: -1,
    Kind.PREPAID_TOP_UP: -1,
    Kind.PREPAID_CARD_TOP_UP: -1,
}


def expected_movement(row: Row[Any], completed: set[int]) -> int | None:
    """The signed minor units the issuer must hold moved for host row `row`, or None.

    `completed` holds the ids of pre-authorisations with an approved completion.
    """
    kind, state = Kind(row.kind), State(row.state)
    sign = _SIGN.get(kind)
    if sign is None:
        return None
    standing = {State.APPROVED, State.SETTLED} | (
        {State.REFUNDED} if kind is not Kind.REFUND else set()
    )
    if state not in standing or (kind is Kind.PREAUTH and row.id in completed):
        return None
    return sign * int(row.amount_minor)


def _check_receipts(row: Row[Any], receipts: Counter[tuple[int, str]], add: Any) -> None:
    key = _key(row)
    wants_receipt = State(row.state) in _WAS_APPROVED and Kind(row.kind).moves_money
    for copy in RECEIPT_COPIES:
        count = receipts.get((row.id, copy), 0)
        if wants_receipt and count != 1:
            add(Finding("receipt", key, f"{count} original {copy} receipts for an approved sale"))
        if not wants_receipt and count:
            add(
                Finding(
                    "receipt", key, f"an original {copy} receipt exists for a {row.state} attempt"
                )
            )


def _check_money(host_rows: list[Row[Any]], movements: dict[str, Any], add: Any) -> None:
    completed = {
        row.original_id
        for row in host_rows
        if Kind(row.kind) is Kind.PREAUTH_COMPLETION
        and State(row.state) in (State.APPROVED, State.SETTLED)
    }
    expected = {row.rrn: (row, expected_movement(row, completed)) for row in host_rows}
    approved = {rrn: pair for rrn, pair in expected.items() if pair[1] is not None}
    for rrn, (row, minor) in approved.items():
        moved = movements.get(rrn)
        if moved is None:
            add(Finding("outcome", _key(row), "host approved but no money moved at the issuer"))
        elif (moved.minor, moved.currency) != (minor, row.currency):
            add(Finding("outcome", _key(row), f"issuer moved {moved}, host expects {minor}"))
    for reference in movements.keys() - approved.keys():
        add(Finding("outcome", reference, "money moved at the issuer without a host approval"))
