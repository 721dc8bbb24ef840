"""What `pospay demo --faults` saw the terminal recover from, for the summary and `--json`.

Counts come from where the facts are: faults from the `FaultyLink` and the printer
watch (`demo.faults`); status queries from the attempts' outcomes and the answers the
link saw; receipts printed late from their stored and printed times, and reversals
from the terminal's `terminal_reversal` rows, both read after the run; and each
faulted sale's final state from the terminal journal.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from pospay.demo.faults import Fault
from pospay.terminal import journal, reversals
from pospay.terminal.reversals import ReversalState
from pospay.terminal.tables import terminal_journal, terminal_receipt


@dataclass(frozen=True, slots=True)
class FaultedAttempt:
    """A sale a link fault hit: what it ended as at once and once everything settled."""

    position: int  # in the plan
    voucher: str
    attempt_id: int
    fault: Fault
    outcome: str  # the state the operator was told
    response_code: str | None
    status_queries: int
    final_state: str = ""  # read from the journal after the run

    @property
    def recovered(self) -> bool:
        return self.final_state in {state.value for state in self.fault.ends}


@dataclass
class Recovery:
    faults_injected: Counter[str] = field(default_factory=Counter)
    status_queries_sent: int = 0
    status_answers: Counter[str] = field(default_factory=Counter)
    reversals_sent: int = 0  # tries, every send counted
    reversals_by_state: Counter[str] = field(default_factory=Counter)
    reversal_codes: Counter[str] = field(default_factory=Counter)
    print_tries_refused: Counter[str] = field(default_factory=Counter)  # by printer fault
    paper_loaded_at: datetime | None = None
    receipts_waiting_for_paper: int = 0  # pending when the paper was loaded
    receipts_printed_late: int = 0  # stored before the paper was loaded, printed after
    receipts_pending_at_end: int = 0
    jobs_printed_twice: list[str] = field(default_factory=list)
    faulted: list[FaultedAttempt] = field(default_factory=list)

    @property
    def reversals_confirmed(self) -> int:
        return self.reversals_by_state[ReversalState.CONFIRMED.value]

    def read_terminal(self, engine: Engine, terminal_id: str) -> None:
        """Reversals and the faulted sales' final states, from the terminal database."""
        with engine.connect() as connection:
            for row in reversals.reversals(connection, terminal_id):
                self.reversals_sent += row.tries
                self.reversals_by_state[row.state] += 1
                if row.response_code is not None:
                    self.reversal_codes[row.response_code] += 1
            if self.paper_loaded_at is not None:
                self.receipts_printed_late = _printed_after(
                    connection, terminal_id, self.paper_loaded_at
                )
            self.faulted = [
                replace(faulted, final_state=journal.attempt(connection, faulted.attempt_id).state)
                for faulted in self.faulted
            ]

    def problems(self) -> list[str]:
        """What the recovery must have achieved and did not."""
        found = [
            f"voucher {f.voucher} ({f.fault.value}): ended {f.final_state}, "
            f"expected {' or '.join(sorted(state.value for state in f.fault.ends))}"
            for f in self.faulted
            if not f.recovered
        ]
        if self.receipts_pending_at_end:
            found.append(f"{self.receipts_pending_at_end} receipts still pending at the end")
        found += [f"job {name} printed twice" for name in self.jobs_printed_twice]
        if self.receipts_printed_late != self.receipts_waiting_for_paper:
            found.append(
                f"{self.receipts_waiting_for_paper} receipts waited for paper, "
                f"{self.receipts_printed_late} printed after it was loaded"
            )
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "faults_injected": dict(sorted(self.faults_injected.items())),
            "status_queries": {
                "sent": self.status_queries_sent,
                "answers": dict(sorted(self.status_answers.items())),
            },
            "reversals": {
                "queued": sum(self.reversals_by_state.values()),
                "sent": self.reversals_sent,
                "confirmed": self.reversals_confirmed,
                "by_state": dict(sorted(self.reversals_by_state.items())),
                "by_response_code": dict(sorted(self.reversal_codes.items())),
            },
            "receipts": {
                "print_tries_refused": dict(sorted(self.print_tries_refused.items())),
                "waiting_for_paper": self.receipts_waiting_for_paper,
                "printed_late": self.receipts_printed_late,
                "pending_at_end": self.receipts_pending_at_end,
                "printed_twice": self.jobs_printed_twice,
            },
            "faulted_attempts": [
                {
                    "voucher": f.voucher,
                    "fault": f.fault.value,
                    "outcome": f.outcome,
                    "response_code": f.response_code,
                    "status_queries": f.status_queries,
                    "final_state": f.final_state,
                    "expected_final_state": sorted(state.value for state in f.fault.ends),
                }
                for f in self.faulted
            ],
        }


def _printed_after(connection: Connection, terminal_id: str, loaded_at: datetime) -> int:
    """Receipts stored before `loaded_at` and printed at or after it."""
    r, j = terminal_receipt.c, terminal_journal.c
    query = (
        select(func.count())
        .select_from(terminal_receipt.join(terminal_journal, r.journal_id == j.id))
        .where(j.terminal_id == terminal_id, r.created_at < loaded_at, r.printed_at >= loaded_at)
    )
    return int(connection.execute(query).scalar_one())
