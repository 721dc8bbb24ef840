"""Running the demo: host, issuer simulator, the wallet simulators and one terminal on
SQLite files, over real TCP and HTTP, printing on the virtual network printer
(`demo.printer`); the QR payments' customers pay from a phone (`demo.phone`).

After the card attempts, two customers use prepaid cards of the shop's stock
(`demo.prepaid_day`): issue, activation, top-ups in cash and by card, payments, a
refund, a freeze.

With `faults`, the fixed fault script of `demo.faults` is injected at the terminal's
edges (its link to the host, its printer); the faulted sales are checked against the
state the script says they must end in rather than the test cards' response code, and
`DemoResult.recovery` counts what the terminal recovered from (`demo.recovery`).

The verdict is computed by `pospay.audit.check_agreement` from the three databases
after everything has stopped, never assumed from the terminal's own view; it includes
the prepaid ledger's zero-sum (`ledger_balanced`).
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select

from pospay.audit import AgreementReport, check_agreement
from pospay.audit.receipts import receipt_census
from pospay.clock import SystemClock
from pospay.demo.faults import Fault, FaultScript, FaultyLink, PrinterWatch, fault_script
from pospay.demo.phone import DemoPhone
from pospay.demo.prepaid_day import (
    PrepaidStep,
    demo_prepaid_cards,
    perform_prepaid_step,
    plan_prepaid_day,
)
from pospay.demo.printer import DemoPrinter, PrinterKind, demo_printer
from pospay.demo.recovery import FaultedAttempt, Recovery
from pospay.demo.trading_day import PlannedAttempt, plan_trading_day
from pospay.host.wallet_bills import keep_bills
from pospay.qr.customer_codes import Wallet
from pospay.runtime import HostNode, TerminalNode
from pospay.runtime.wallet_node import WalletNode
from pospay.storage import open_engine
from pospay.storage.database import sqlite_url
from pospay.terminal.card_read import CardRead
from pospay.terminal.config import TerminalConfig
from pospay.terminal.engine import Terminal
from pospay.terminal.link import HostLink
from pospay.terminal.operators import Credentials, Role
from pospay.terminal.outcome import Outcome
from pospay.terminal.settlement import SettlementOutcome
from pospay.terminal.tables import terminal_state
from pospay.transaction import Kind, Method
from pospay.wallets.payers import code_for

# The demo shop's operator passwords: demo data, printed in the README, never a real secret.
DEMO_PASSWORDS = {"00": "admin-0000", "09": "super-0909", "01": "cashier-0101"}

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
    # Which trading day this was on its databases: 1 on new ones, then one more each run
    # (the terminal's batch when the day began: every demo day settles its batch). The
    # counts, receipts and attempts are this day's; the report (the verdict) covers the
    # databases, every day on them.
    day: int = 1
    by_type: Counter[str] = field(default_factory=Counter)
    by_method: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_response_code: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    receipts_printed: int = 0  # with the attempt (late ones: `recovery`)
    receipts_pending: int = 0  # still unprinted when the day ended
    printer: str = ""
    settlement: SettlementOutcome | None = None
    recovery: Recovery | None = None  # with faults only
    # Originals, reprints and marked copies issued (`audit.receipts.receipt_census`).
    receipt_census: dict[str, int] = field(default_factory=dict)
    # The wallets' bill files of the day, kept for reconciliation (`host.wallet_bills`).
    bills: dict[str, str] = field(default_factory=dict)

    def count_prepaid(self, step: PrepaidStep, outcomes: list[Outcome]) -> None:
        """Count a prepaid step's attempts (a top-up by card: its sale too)."""
        for outcome in outcomes:
            self.by_type[outcome.kind.value] += 1
            funding_sale = outcome is not outcomes[-1]
            self.by_method[Method.CARD_CHIP.value if funding_sale else Method.PREPAID.value] += 1
            self.by_outcome[outcome.state.value] += 1
            self.by_response_code[outcome.response_code or "none"] += 1
            self.receipts_printed += outcome.receipts_printed
        last = outcomes[-1]
        if last.response_code != step.expect:
            self.unexpected.append(
                f"prepaid {step.kind.value} voucher {last.voucher}: expected {step.expect}, "
                f"got {last.response_code}"
            )

    def count(self, planned: PlannedAttempt, outcome: Outcome, fault: Fault | None) -> None:
        """Count one attempt by what it was and how it ended. An attempt a fault hit is
        checked after the run against the state the fault script promises."""
        self.by_type[planned.kind.value] += 1
        self.by_method["by_reference" if planned.is_follow_up else planned.method.value] += 1
        self.by_outcome[outcome.state.value] += 1
        self.by_response_code[outcome.response_code or "none"] += 1
        self.receipts_printed += outcome.receipts_printed
        if fault is None and outcome.response_code != planned.expect:
            got = outcome.response_code
            self.unexpected.append(
                f"voucher {outcome.voucher}: expected {planned.expect}, got {got}"
            )

    @property
    def agreement(self) -> bool:
        settled = self.settlement is not None and self.settlement.settled
        balanced = self.report.ledger_balanced
        return self.report.agreement and balanced and not self.unexpected and settled

    @property
    def receipts_printed_all(self) -> int:
        """Receipts printed with their attempt, and those printed late after a fault."""
        late = 0 if self.recovery is None else self.recovery.receipts_printed_late
        return self.receipts_printed + late

    def as_json(self) -> dict[str, Any]:
        return {
            "agreement": self.agreement,
            "trading_day": self.day,
            "attempts": sum(self.by_type.values()),
            "audited_attempts": self.report.attempts,
            "host_journal_rows": self.report.host_rows,
            "issuer_movements": self.report.issuer_movements,
            "ledger_balanced": self.report.ledger_balanced,
            "prepaid": self.report.prepaid_summary(),
            "by_type": dict(sorted(self.by_type.items())),
            "by_method": dict(sorted(self.by_method.items())),
            "by_outcome": dict(sorted(self.by_outcome.items())),
            "by_response_code": dict(sorted(self.by_response_code.items())),
            "receipts": {
                "printed": self.receipts_printed_all,
                "pending": self.receipts_pending,
                **self.receipt_census,
            },
            "printer": self.printer,
            "settlement": self._settlement_json(),
            "invariants": self.report.by_invariant(),
            "findings": [
                {"invariant": f.invariant, "attempt": f.attempt, "detail": f.detail}
                for f in self.report.findings
            ],
            "unexpected": self.unexpected,
            "recovery": None if self.recovery is None else self.recovery.as_json(),
            "bills": self.bills,
            "data_dir": str(self.data_dir),
            "out_dir": str(self.out_dir),
        }

    def _settlement_json(self) -> dict[str, Any] | None:
        outcome = self.settlement
        if outcome is None:
            return None
        return {
            "batch": outcome.batch,
            "settled": outcome.settled,
            "response_code": outcome.response_code,
            "balanced_first_time": outcome.balanced_first_time,
            "uploaded": outcome.uploaded,
            "attempts_settled": outcome.attempts_settled,
            "next_batch": outcome.next_batch,
            "slip_printed": outcome.slip_printed,
        }


async def run_demo(
    data_dir: Path,
    out_dir: Path,
    *,
    seed: int = 1,
    faults: bool = False,
    printer: PrinterKind = PrinterKind.VIRTUAL,
    on_start: Callable[[int], None] = lambda total: None,
    on_attempt: Callable[[PlannedAttempt], None] = lambda planned: None,
) -> DemoResult:
    """Run the trading day; `on_start` and `on_attempt` feed a progress display."""
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any I/O starts
    handler = _log_to(data_dir / "pospay.log")
    try:
        async with demo_printer(printer, out_dir) as device:
            return await _run(data_dir, out_dir, seed, faults, device, on_start, on_attempt)
    finally:
        logger = logging.getLogger("pospay")
        logger.removeHandler(handler)
        logger.propagate = True
        handler.close()


async def _run(
    data_dir: Path,
    out_dir: Path,
    seed: int,
    faults: bool,
    device: DemoPrinter,
    on_start: Callable[[int], None],
    on_attempt: Callable[[PlannedAttempt], None],
) -> DemoResult:
    urls = {
        name: sqlite_url(data_dir / f"{name}.db")
        for name in ("host", "issuer", "terminal", "wallets")
    }
    day, issued_before = _before_the_day(urls["terminal"])
    plan = plan_trading_day(seed)
    prepaid_plan = plan_prepaid_day()
    script = fault_script(plan) if faults else None
    on_start(len(plan) + len(prepaid_plan) + 1)  # the attempts, then settlement
    result = DemoResult(data_dir=data_dir, out_dir=out_dir, report=AgreementReport(), day=day)
    result.printer = device.description
    result.recovery = Recovery() if faults else None
    watch = PrinterWatch(device.printer)
    links: list[FaultyLink] = []

    def faulty(inner: HostLink) -> HostLink:
        links.append(FaultyLink(inner))
        return links[-1]

    async with (
        WalletNode(urls["wallets"], notify_interval=0.5) as wallets,
        HostNode(
            urls["host"],
            urls["issuer"],
            data_dir / "keys",
            iso_port=0,
            wallet_urls={
                wallet: wallets.url_of(wallet) for wallet in (Wallet.ALIPAY, Wallet.WECHAT)
            },
        ) as host,
    ):
        wallet_urls = {wallet: wallets.url_of(wallet) for wallet in (Wallet.ALIPAY, Wallet.WECHAT)}
        node = TerminalNode(
            DEMO_TERMINAL,
            urls["terminal"],
            "127.0.0.1",
            host.port,
            watch,
            link_for=faulty if script else None,
        )
        async with node as terminal:
            supervisor = await _staff(terminal)
            code = await terminal.sign_in()
            if code != "00":
                raise RuntimeError(f"sign-in refused with response code {code}")
            vouchers: list[str] = []
            for position, planned in enumerate(plan):
                fault = await _inject(terminal, script, position, links, device, result)
                outcome = await _perform(terminal, planned, vouchers, supervisor, wallet_urls)
                vouchers.append(outcome.voucher)
                result.count(planned, outcome, fault)
                if fault is not None and result.recovery is not None:
                    result.recovery.faulted.append(
                        FaultedAttempt(
                            position,
                            outcome.voucher,
                            outcome.attempt_id,
                            fault,
                            outcome.state.value,
                            outcome.response_code,
                            outcome.status_queries,
                        )
                    )
                if result.recovery is not None:
                    result.recovery.status_queries_sent += outcome.status_queries
                on_attempt(planned)
            cards = demo_prepaid_cards(seed, SystemClock().now(), day)
            prepaid_vouchers: list[str] = []
            for step in prepaid_plan:
                outcomes = await perform_prepaid_step(
                    terminal, step, cards, prepaid_vouchers, supervisor
                )
                prepaid_vouchers.append(outcomes[-1].voucher)
                result.count_prepaid(step, outcomes)
                on_attempt(plan[-1])
            # The host holds the sale of 666.91 unknown (its issuer answer was lost) until
            # its recovery job reverses it, and answers a settlement 09 until then: the
            # day closes after a run of the job, whether or not its periodic run came first.
            await host.recovery.run_once(grace=0)
            result.settlement = await terminal.settle(supervisor)
            today = SystemClock().now().date()
            kept = await keep_bills(host.wallets, today, data_dir / "bills")
            result.bills = {wallet.value: str(path) for wallet, path in kept.items()}
            result.receipts_pending = len(await terminal.pending_receipts())
            on_attempt(plan[-1])
    engines = {name: open_engine(url) for name, url in urls.items()}
    try:
        result.report = check_agreement(
            engines["terminal"], engines["host"], engines["issuer"], wallets=engines["wallets"]
        )
        with engines["terminal"].connect() as connection:
            issued = receipt_census(connection)
        result.receipt_census = {k: n - issued_before.get(k, 0) for k, n in issued.items()}
        if result.recovery is not None:
            result.recovery.read_terminal(engines["terminal"], DEMO_TERMINAL.terminal_id)
    finally:
        for engine in engines.values():
            engine.dispose()
    _check_printing(result, watch, device, links)
    return result


async def _inject(
    terminal: Terminal,
    script: FaultScript | None,
    position: int,
    links: list[FaultyLink],
    device: DemoPrinter,
    result: DemoResult,
) -> Fault | None:
    """Inject the faults the script holds for the attempt at `position`; its link fault."""
    if script is None or result.recovery is None:
        return None
    if position == script.paper_out.start:
        device.paper.run_out()
        result.recovery.faults_injected["printer paper_out"] += 1
    if position == script.paper_out.stop:
        result.recovery.receipts_waiting_for_paper = len(await terminal.pending_receipts())
        result.recovery.paper_loaded_at = SystemClock().now()
        device.paper.load()
    fault = script.link.get(position)
    for mti, loss in fault.losses if fault is not None else []:
        links[0].arm(mti, loss)
    return fault


def _check_printing(
    result: DemoResult, watch: PrinterWatch, device: DemoPrinter, links: list[FaultyLink]
) -> None:
    """What the printer and the fault script must show once the day is over."""
    if device.virtual is not None and len(device.virtual.printed) != len(watch.printed):
        result.unexpected.append(
            f"the virtual printer holds {len(device.virtual.printed)} jobs, "
            f"the terminal printed {len(watch.printed)}"
        )
    recovery = result.recovery
    if recovery is None:
        return
    for link in links:
        recovery.faults_injected.update(link.injected)
        recovery.status_answers.update(link.status_answers)
        result.unexpected += [f"fault not injected: {mti} {loss.value}" for mti, loss in link.armed]
    recovery.print_tries_refused = watch.refused
    recovery.receipts_pending_at_end = result.receipts_pending
    recovery.jobs_printed_twice = watch.printed_twice
    result.unexpected += recovery.problems()


async def _staff(terminal: Terminal) -> Credentials:
    """The demo shop's operators: an admin, a supervisor and the cashier on duty, added
    on the first day (a later day on the same data directory finds them there)."""
    admin = Credentials("00", DEMO_PASSWORDS["00"])
    existing = {operator.operator_id for operator in await terminal.operators.list()}
    staff = (
        ("00", "店长 Manager", Role.ADMIN),
        ("09", "主管 Supervisor", Role.SUPERVISOR),
        ("01", "收银员 Cashier", Role.CASHIER),
    )
    for operator_id, name, role in staff:
        if operator_id not in existing:
            by = None if role is Role.ADMIN else admin
            await terminal.operators.add(
                operator_id, name, role, DEMO_PASSWORDS[operator_id], by=by
            )
    await terminal.log_in(Credentials("01", DEMO_PASSWORDS["01"]))
    return Credentials("09", DEMO_PASSWORDS["09"])


async def _perform(
    terminal: Terminal,
    planned: PlannedAttempt,
    vouchers: list[str],
    supervisor: Credentials,
    wallet_urls: dict[Wallet, str],
) -> Outcome:
    if planned.wallet is not None and planned.payer is not None:
        return await pay_by_qr(terminal, planned, wallet_urls[planned.wallet])
    if planned.follows is not None:
        original = vouchers[planned.follows]
        if planned.kind is Kind.VOID:
            return await terminal.void(original, supervisor=supervisor)
        if planned.kind is Kind.REFUND:
            return await terminal.refund(original, planned.amount, supervisor=supervisor)
        if planned.kind is Kind.PREAUTH_COMPLETION:
            return await terminal.complete(original, planned.amount)
        return await terminal.cancel_preauth(original)
    card = card_read(planned)
    if planned.kind is Kind.BALANCE_INQUIRY:
        return await terminal.balance_inquiry(card)
    if planned.kind is Kind.PREAUTH:
        return await terminal.preauth(card, planned.amount)
    if planned.kind is Kind.TRANSFER:
        assert planned.target_pan is not None
        return await terminal.transfer(card, planned.target_pan, planned.amount)
    return await terminal.sale(card, planned.amount)


async def pay_by_qr(terminal: Terminal, planned: PlannedAttempt, wallet_url: str) -> Outcome:
    """A QR sale of the plan: the payer's code scanned (a fresh one, as an app shows), or
    the terminal's QR shown to the payer's phone."""
    assert planned.wallet is not None and planned.payer is not None
    if planned.method is Method.QR_CUSTOMER:
        changing = f"{secrets.randbelow(10**12):012d}"
        code = code_for(planned.wallet, planned.payer, changing)
        return await terminal.pay_by_code(code, planned.amount)
    phone = DemoPhone(wallet_url, planned.payer)
    return await terminal.pay_by_qr(planned.wallet, planned.amount, phone)


def card_read(planned: PlannedAttempt) -> CardRead:
    """What the card reader would hand the terminal for this step."""
    if planned.card is None:
        assert planned.pan is not None
        return CardRead(planned.pan, "3012", planned.method)
    return CardRead.for_test_card(planned.card, planned.method, pin=planned.pin)


def _before_the_day(terminal_url: str) -> tuple[int, dict[str, int]]:
    """The day the demo's terminal starts now (its open batch: every demo day settles
    one; 1 on a new database) and the receipts earlier days issued."""
    engine = open_engine(terminal_url)
    try:
        if not inspect(engine).has_table(terminal_state.name):
            return 1, {}
        with engine.connect() as connection:
            batch = connection.execute(
                select(terminal_state.c.batch).where(
                    terminal_state.c.terminal_id == DEMO_TERMINAL.terminal_id
                )
            ).scalar()
            issued = receipt_census(connection)
    finally:
        engine.dispose()
    return (1 if batch is None else int(batch)), issued


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("pospay")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False  # the demo's screen is for the summary; the log goes to its file
    return handler
