"""Invariant 5 of SPEC.md: settlement totals equal the journals, and every difference
between terminal and host is explained.

For every batch settled on either side: the terminal's slip totals are what its own
journal totals to for that batch now; the host's recorded count is what its journal
totals to; the batch is settled on both sides; and where the terminal's totals and the
host's differ, the host listed the differences (a batch settled after upload), so
reconciliation has something to resolve rather than an unexplained gap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Row, select

from pospay.audit.findings import Finding
from pospay.host.tables import host_journal, host_settlement
from pospay.settlement import BatchTotals, read_totals_field, totals_field, totals_of
from pospay.terminal.tables import terminal_journal, terminal_settlement

SETTLED = "settled"


def settlement_findings(terminal: Engine, host: Engine) -> list[Finding]:
    """Every way the settled batches disagree with the journals or with each other."""
    with terminal.connect() as connection:
        terminal_batches = {
            (row.terminal_id, row.batch): row
            for row in connection.execute(select(terminal_settlement))
            if row.state == SETTLED
        }
        terminal_rows = list(connection.execute(_counted_columns(terminal_journal)))
    with host.connect() as connection:
        host_batches = {
            (row.terminal_id, row.batch): row
            for row in connection.execute(select(host_settlement))
            if row.state == SETTLED
        }
        host_rows = list(connection.execute(_counted_columns(host_journal)))

    findings: list[Finding] = []
    for key in sorted(terminal_batches.keys() | host_batches.keys()):
        name = f"{key[0]}/batch {key[1]}"
        on_terminal, on_host = terminal_batches.get(key), host_batches.get(key)
        if on_terminal is None or on_host is None:
            side = "terminal" if on_terminal is not None else "host"
            findings.append(Finding("settlement", name, f"settled on the {side} only"))
            continue
        terminal_own = _totals(terminal_rows, key)
        slip = BatchTotals(
            on_terminal.debit_count,
            on_terminal.debit_minor,
            on_terminal.credit_count,
            on_terminal.credit_minor,
        )
        if slip != terminal_own:
            findings.append(
                Finding(
                    "settlement", name, f"terminal settled {slip}, its journal says {terminal_own}"
                )
            )
        host_own = _totals(host_rows, key)
        if read_totals_field(on_host.host_totals) != host_own:
            findings.append(
                Finding(
                    "settlement",
                    name,
                    f"host settled {on_host.host_totals}, its journal says {host_own}",
                )
            )
        if totals_field(terminal_own) != totals_field(host_own) and not on_host.differences.strip():
            findings.append(
                Finding(
                    "settlement", name, "terminal and host totals differ and nothing explains it"
                )
            )
    return findings


def _counted_columns(table: Any) -> Any:
    return select(
        table.c.terminal_id, table.c.batch, table.c.kind, table.c.state, table.c.amount_minor
    )


def _totals(rows: list[Row[Any]], key: tuple[str, str]) -> BatchTotals:
    return totals_of(
        (row.kind, row.state, row.amount_minor)
        for row in rows
        if (row.terminal_id, row.batch) == key
    )
