"""The chaos run's report: what was injected, what the auditor found, and how to replay it.

Everything in the report is a function of the seed and the arguments — no wall-clock
time, no process ids — so one seed gives one report, byte for byte (`as_json` sorts
keys). The invariants are the auditor's six (`audit.check_agreement`) and one the
simulation can see that no database can: `paper`, no original receipt printed twice
and none left unprinted once the printers work again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from pospay.audit.findings import Finding
from pospay.audit.receipts import receipt_census
from pospay.simulation.printer import SimPrinter
from pospay.simulation.world import ChaosConfig, WorldResult
from pospay.terminal.tables import (
    terminal_journal,
    terminal_receipt,
    terminal_reversal,
    terminal_settlement,
)

INVARIANTS = ("final", "outcome", "once", "receipt", "settlement", "ledger", "paper")


@dataclass
class ChaosReport:
    config: ChaosConfig
    attempts: int
    host_rows: int
    issuer_movements: int
    faults: dict[str, int]
    findings: list[Finding]
    crashes: dict[str, int]
    steps: dict[str, int]
    outcomes: dict[str, int]
    recovery: dict[str, int]
    receipts: dict[str, int]
    network: dict[str, int]
    errors: list[str]
    virtual_seconds: float
    # The prepaid ledger as the auditor read it back (`AgreementReport.prepaid_summary`).
    prepaid: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def invariants(self) -> dict[str, int]:
        return {
            name: sum(1 for finding in self.findings if finding.invariant == name)
            for name in INVARIANTS
        }

    @property
    def ok(self) -> bool:
        return not self.findings and not self.errors

    def replay_command(self) -> str:
        config = self.config
        defects = "".join(f" --defect {defect.value}" for defect in sorted(config.defects))
        if config.crash_scale != 1.0:
            defects += f" --crash-scale {config.crash_scale:g}"
        return (
            f"pospay chaos --seed {config.seed} --transactions {config.transactions}"
            f" --fault-rate {config.fault_rate:g} --terminals {config.terminals}"
            f" --shards {config.shards}{defects}"
        )

    def as_json(self) -> dict[str, Any]:
        config = self.config
        return {
            "seed": config.seed,
            "transactions": config.transactions,
            "fault_rate": config.fault_rate,
            "terminals": config.terminals,
            "defects": sorted(defect.value for defect in config.defects),
            "crash_scale": config.crash_scale,
            "shards": config.shards,
            "attempts": self.attempts,
            "host_journal_rows": self.host_rows,
            "issuer_movements": self.issuer_movements,
            "faults": self.faults,
            "faults_total": sum(self.faults.values()),
            "crashes": self.crashes,
            "invariants": self.invariants,
            "violations": [
                {
                    "invariant": finding.invariant,
                    "attempt": finding.attempt,
                    "detail": finding.detail,
                    "seed": config.seed,
                    "replay": self.replay_command(),
                }
                for finding in self.findings
            ],
            "errors": self.errors,
            "steps": self.steps,
            "outcomes": self.outcomes,
            "recovery": self.recovery,
            "receipts": self.receipts,
            "network": self.network,
            "prepaid": self.prepaid,
            "virtual_seconds": self.virtual_seconds,
            "agreement": self.ok,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_json(), indent=2, sort_keys=True, ensure_ascii=False)


def build_report(config: ChaosConfig, result: WorldResult) -> ChaosReport:
    terminal = result.engines["terminal"]
    findings = list(result.agreement.findings)
    findings += paper_findings(terminal, result.printers)
    return ChaosReport(
        config=config,
        attempts=result.agreement.attempts,
        host_rows=result.agreement.host_rows,
        issuer_movements=result.agreement.issuer_movements,
        faults=result.faults,
        findings=findings,
        crashes=result.crashes,
        steps={**result.steps, "refused_locally": result.refused_locally},
        outcomes=_count(terminal, terminal_journal.c.state),
        recovery=_recovery(terminal) | {"status_queries": result.status_queries},
        receipts=_receipts(terminal, result.printers),
        network={
            "lost_to_partitions": result.messages_lost_to_partitions,
            "responses_discarded": result.responses_discarded,
        },
        errors=result.errors,
        virtual_seconds=result.virtual_seconds,
        prepaid=result.agreement.prepaid_summary(),
    )


def merge_reports(config: ChaosConfig, reports: list[ChaosReport]) -> ChaosReport:
    """The report of a run whose shards reported `reports` (in shard order): counts
    added up, findings and errors one shard after another, the longest virtual time."""
    if len(reports) == 1:
        return reports[0]
    return ChaosReport(
        config=config,
        attempts=sum(report.attempts for report in reports),
        host_rows=sum(report.host_rows for report in reports),
        issuer_movements=sum(report.issuer_movements for report in reports),
        faults=_added(report.faults for report in reports),
        findings=[finding for report in reports for finding in report.findings],
        crashes=_added(report.crashes for report in reports),
        steps=_added(report.steps for report in reports),
        outcomes=_added(report.outcomes for report in reports),
        recovery=_added(report.recovery for report in reports),
        receipts=_added(report.receipts for report in reports),
        network=_added(report.network for report in reports),
        errors=[error for report in reports for error in report.errors],
        virtual_seconds=max(report.virtual_seconds for report in reports),
        prepaid=_merged_prepaid([report.prepaid for report in reports]),
    )


def _merged_prepaid(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """Each shard's host keeps a prepaid ledger of its own: the counts add up, and the
    ledgers balance when every shard's does."""
    kept = [shard for shard in shards if shard]
    if not kept:
        return {}
    counted = _added({k: v for k, v in shard.items() if k != "ledger_balanced"} for shard in kept)
    return counted | {"ledger_balanced": all(shard["ledger_balanced"] for shard in kept)}


def _added(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Counts added key by key, in the order the keys first appear."""
    total: dict[str, int] = {}
    for count in counts:
        for key, value in count.items():
            total[key] = total.get(key, 0) + value
    return total


def paper_findings(terminal: Engine, printers: list[SimPrinter]) -> list[Finding]:
    """Originals that came out of a printer twice, and stored jobs never printed."""
    findings = [
        Finding("paper", name, f"printed {count} times")
        for printer in printers
        for name, count in sorted(printer.paper.items())
        if count > 1
    ]
    with terminal.connect() as connection:
        unprinted = connection.execute(
            select(
                terminal_journal.c.terminal_id, terminal_journal.c.voucher, terminal_receipt.c.copy
            )
            .join(terminal_journal, terminal_journal.c.id == terminal_receipt.c.journal_id)
            .where(terminal_receipt.c.printed_at.is_(None))
            .order_by(terminal_receipt.c.id)
        ).all()
    findings += [
        Finding("paper", f"{row.terminal_id}/{row.voucher}", f"{row.copy} receipt never printed")
        for row in unprinted
    ]
    return findings


def _count(engine: Engine, column: Any) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(column, func.count()).group_by(column)).all()
    return {str(value): int(count) for value, count in sorted(rows)}


def _recovery(terminal: Engine) -> dict[str, int]:
    reversals = _count(terminal, terminal_reversal.c.state)
    with terminal.connect() as connection:
        settled = connection.execute(
            select(func.count()).where(terminal_settlement.c.state == "settled")
        ).scalar_one()
    return {
        **{f"reversals_{state}": count for state, count in reversals.items()},
        "batches_settled": int(settled),
    }


def _receipts(terminal: Engine, printers: list[SimPrinter]) -> dict[str, int]:
    with terminal.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(terminal_receipt)).scalar_one()
        census = receipt_census(connection)
    return {
        "stored": int(stored),
        **census,
        "printed": sum(sum(printer.paper.values()) for printer in printers),
        "prints_refused_by_faulty_printers": sum(printer.refused for printer in printers),
        "printed_after_the_printer_was_fixed": sum(printer.printed_late for printer in printers),
    }
