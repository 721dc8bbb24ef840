"""Running the demo: host, issuer simulator and one terminal on SQLite files, over real TCP.

The verdict is computed by `pospay.audit.check_agreement` from the three databases
after everything has stopped, never assumed from the terminal's own view.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pospay.audit import AgreementReport, check_agreement
from pospay.demo.trading_day import PlannedAttempt, plan_trading_day
from pospay.printer import DirectoryPrinter
from pospay.runtime import HostNode, TerminalNode
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.transaction import Kind

DEMO_TERMINAL = TerminalConfig(
    terminal_id="10000001",
    merchant_id="898310048160001",
    merchant_name="浦江便利店 PUJIANG MART",
)


@dataclass
class DemoResult:
    data_dir: Path
    out_dir: Path
    report: AgreementReport
    by_type: Counter[str] = field(default_factory=Counter)
    by_method: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_response_code: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    receipts_printed: int = 0
    receipts_pending: int = 0

    @property
    def agreement(self) -> bool:
        return self.report.agreement and not self.unexpected

    def as_json(self) -> dict[str, Any]:
        return {
            "agreement": self.agreement,
            "attempts": self.report.attempts,
            "host_journal_rows": self.report.host_rows,
            "issuer_movements": self.report.issuer_movements,
            "by_type": dict(sorted(self.by_type.items())),
            "by_method": dict(sorted(self.by_method.items())),
            "by_outcome": dict(sorted(self.by_outcome.items())),
            "by_response_code": dict(sorted(self.by_response_code.items())),
            "receipts": {"printed": self.receipts_printed, "pending": self.receipts_pending},
            "invariants": self.report.by_invariant(),
            "findings": [
                {"invariant": f.invariant, "attempt": f.attempt, "detail": f.detail}
                for f in self.report.findings
            ],
            "unexpected": self.unexpected,
            "data_dir": str(self.data_dir),
            "out_dir": str(self.out_dir),
        }


async def run_demo(
    data_dir: Path,
    out_dir: Path,
    *,
    seed: int = 1,
    on_start: Callable[[int], None] = lambda total: None,
    on_attempt: Callable[[PlannedAttempt], None] = lambda planned: None,
) -> DemoResult:
    """Run the trading day; `on_start` and `on_attempt` feed a progress display."""
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any I/O starts
    handler = _log_to(data_dir / "pospay.log")
    try:
        return await _run(data_dir, out_dir, seed, on_start, on_attempt)
    finally:
        logger = logging.getLogger("pospay")
        logger.removeHandler(handler)
        logger.propagate = True
        handler.close()


async def _run(
    data_dir: Path,
    out_dir: Path,
    seed: int,
    on_start: Callable[[int], None],
    on_attempt: Callable[[PlannedAttempt], None],
) -> DemoResult:
    urls = {name: sqlite_url(data_dir / f"{name}.db") for name in ("host", "issuer", "terminal")}
    plan = plan_trading_day(seed)
    on_start(len(plan))
    result_counts: dict[str, Counter[str]] = {
        name: Counter() for name in ("type", "method", "outcome", "code")
    }
    unexpected: list[str] = []
    printed = pending = 0
    async with HostNode(urls["host"], urls["issuer"], data_dir / "keys", iso_port=0) as host:
        node = TerminalNode(
            DEMO_TERMINAL, urls["terminal"], "127.0.0.1", host.port, DirectoryPrinter(out_dir)
        )
        async with node as terminal:
            code = await terminal.sign_in()
            if code != "00":
                raise RuntimeError(f"sign-in refused with response code {code}")
            for planned in plan:
                card = CardRead(planned.pan, planned.expiry, planned.method)
                if planned.kind is Kind.BALANCE_INQUIRY:
                    outcome = await terminal.balance_inquiry(card)
                else:
                    outcome = await terminal.sale(card, planned.amount)
                result_counts["type"][planned.kind.value] += 1
                result_counts["method"][planned.method.value] += 1
                result_counts["outcome"][outcome.state.value] += 1
                result_counts["code"][outcome.response_code or "none"] += 1
                printed += outcome.receipts_printed
                pending += outcome.receipts_pending
                if outcome.response_code != planned.expect:
                    got = outcome.response_code
                    unexpected.append(
                        f"voucher {outcome.voucher}: expected {planned.expect}, got {got}"
                    )
                on_attempt(planned)
    engines = {name: open_engine(url) for name, url in urls.items()}
    try:
        report = check_agreement(engines["terminal"], engines["host"], engines["issuer"])
    finally:
        for engine in engines.values():
            engine.dispose()
    return DemoResult(
        data_dir=data_dir,
        out_dir=out_dir,
        report=report,
        by_type=result_counts["type"],
        by_method=result_counts["method"],
        by_outcome=result_counts["outcome"],
        by_response_code=result_counts["code"],
        unexpected=unexpected,
        receipts_printed=printed,
        receipts_pending=pending,
    )


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("pospay")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False  # the demo's screen is for the summary; the log goes to its file
    return handler
