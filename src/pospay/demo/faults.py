"""`pospay demo --faults`: the trading day with the failures a shop really meets.

The demo's faults are a fixed script (`fault_script`), so the summary reads the same
every time. Each link fault hits one plain approved sale that no later void, refund or
completion refers to:

- ``answer_lost``: the host's answer to the sale is lost on the way back (the host
  approved it); the status query finds it done and the sale ends approved, receipts
  printed, nothing reversed;
- ``request_lost``: the sale's request is lost on the way out (the host never sees it);
  the status query answers "not found" (25) and the sale ends declined, nothing moved;
- ``answer_and_query_lost``: the sale's answer is lost, and so is the answer to the
  status query; the terminal reverses the sale, and the host confirms the reversal;
- ``reversal_answer_lost``: as above, and the reversal's first answer is lost too; the
  reversal stays pending and goes out again before the next attempt (the host
  recognises the retry and confirms it once more).

Then the printer runs out of paper for `PAPER_OUT_ATTEMPTS` attempts, starting at
another such sale: the receipts stay stored and pending, and print when paper is loaded
(before the next attempt), each once.

Each is injected at the terminal's edge — the `HostLink` under the MAC layer and the
`ReceiptPrinter` — so the terminal, host and issuer code run unchanged and recover the
way they do in the field (status query, reversal store-and-forward, print queue).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from pospay.demo.trading_day import PlannedAttempt
from pospay.errors import OutcomeUnknown, PrinterFault
from pospay.iso8583 import Message
from pospay.printer import ReceiptPrinter
from pospay.terminal.link import HostLink
from pospay.transaction import Kind, State

PAPER_OUT_ATTEMPTS = 3
STATUS_QUERY_MTI, STATUS_ANSWER_MTI = "0600", "0610"
# What a status query's answer (field 39 of the 0610) says.
STATUS_ANSWERS = {"00": "done", "09": "in_progress", "25": "not_found"}


class LinkFault(StrEnum):
    LOSE_RESPONSE = "lose_response"  # the host acts, its answer never arrives
    LOSE_REQUEST = "lose_request"  # the request never reaches the host


class Fault(StrEnum):
    """One scripted fault on one sale; see the module docstring."""

    ANSWER_LOST = "answer_lost"
    REQUEST_LOST = "request_lost"
    ANSWER_AND_QUERY_LOST = "answer_and_query_lost"
    REVERSAL_ANSWER_LOST = "reversal_answer_lost"

    @property
    def losses(self) -> list[tuple[str, LinkFault]]:
        """The messages lost for this fault, in the order they are sent."""
        return _LOSSES[self]

    @property
    def ends(self) -> frozenset[State]:
        """The states the sale may end the day in once the terminal has recovered (an
        approved sale is settled by the day's settlement)."""
        return _ENDS[self]


_LOSSES: dict[Fault, list[tuple[str, LinkFault]]] = {
    Fault.ANSWER_LOST: [("0200", LinkFault.LOSE_RESPONSE)],
    Fault.REQUEST_LOST: [("0200", LinkFault.LOSE_REQUEST)],
    Fault.ANSWER_AND_QUERY_LOST: [
        ("0200", LinkFault.LOSE_RESPONSE),
        (STATUS_QUERY_MTI, LinkFault.LOSE_RESPONSE),
    ],
    Fault.REVERSAL_ANSWER_LOST: [
        ("0200", LinkFault.LOSE_RESPONSE),
        (STATUS_QUERY_MTI, LinkFault.LOSE_RESPONSE),
        ("0400", LinkFault.LOSE_RESPONSE),
    ],
}
_ENDS = {
    Fault.ANSWER_LOST: frozenset({State.APPROVED, State.SETTLED}),
    Fault.REQUEST_LOST: frozenset({State.DECLINED}),
    Fault.ANSWER_AND_QUERY_LOST: frozenset({State.REVERSED}),
    Fault.REVERSAL_ANSWER_LOST: frozenset({State.REVERSED}),
}


@dataclass(frozen=True, slots=True)
class FaultScript:
    """Which attempts of the plan (by position) the faults hit."""

    link: dict[int, Fault]
    paper_out: range  # the attempts during which the printer has no paper


def fault_script(plan: list[PlannedAttempt]) -> FaultScript:
    """The fixed fault script for `plan`: each fault on its own plain approved sale,
    spread over the day, with plain attempts between them."""
    referred = {planned.follows for planned in plan if planned.follows is not None}
    plain = [
        index
        for index, planned in enumerate(plan)
        if planned.kind is Kind.SALE
        and planned.expect == "00"
        and index not in referred
        and not planned.is_qr
    ]
    faults = list(Fault)
    # Every other plain sale, so that an unfaulted sale follows each fault.
    chosen = plain[1 : 2 * (len(faults) + 1) : 2]
    if len(chosen) < len(faults) + 1 or chosen[-1] + PAPER_OUT_ATTEMPTS >= len(plan):
        raise ValueError(f"the plan has too few plain sales for the fault script: {len(plain)}")
    start = chosen[-1]
    return FaultScript(
        dict(zip(chosen, faults, strict=False)), range(start, start + PAPER_OUT_ATTEMPTS)
    )


@dataclass
class FaultyLink:
    """A `HostLink` that loses the messages it is told to, once each, in order, and
    notes what the status queries that got through were answered."""

    inner: HostLink
    armed: list[tuple[str, LinkFault]] = field(default_factory=list)  # (MTI, fault)
    injected: Counter[str] = field(default_factory=Counter)
    status_answers: Counter[str] = field(default_factory=Counter)

    def arm(self, mti: str, fault: LinkFault) -> None:
        """Lose (per `fault`) the next message of type `mti`."""
        self.armed.append((mti, fault))

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        mti = request.get("t", "")
        fault = self._take(mti)
        if fault is LinkFault.LOSE_REQUEST:
            self._lost(mti, fault)
            raise OutcomeUnknown(f"no response within {timeout:g} s (demo: request lost)")
        response = await self.inner.exchange(request, timeout=timeout)
        if fault is LinkFault.LOSE_RESPONSE:
            self._lost(mti, fault)
            raise OutcomeUnknown(f"no response within {timeout:g} s (demo: answer lost)")
        if mti == STATUS_QUERY_MTI and response.get("t") == STATUS_ANSWER_MTI:
            code = response.get("39", "")
            self.status_answers[STATUS_ANSWERS.get(code, f"code {code}")] += 1
        return response

    async def close(self) -> None:
        await self.inner.close()

    def _lost(self, mti: str, fault: LinkFault) -> None:
        self.injected[f"{mti} {fault.value}"] += 1
        if mti == STATUS_QUERY_MTI:
            self.status_answers["lost"] += 1

    def _take(self, mti: str) -> LinkFault | None:
        for index, (wanted, fault) in enumerate(self.armed):
            if wanted == mti:
                del self.armed[index]
                return fault
        return None


@dataclass
class PaperOutPrinter:
    """A printer that is out of paper while `out_of_paper` is set (for `--printer
    directory`; the virtual printer has its own paper-out fault)."""

    inner: ReceiptPrinter
    out_of_paper: bool = False

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        if self.out_of_paper:
            raise PrinterFault("paper_out")
        self.inner.print_job(name, escpos, text)


@dataclass
class Paper:
    """Running the demo printer out of paper, and loading it again."""

    run_out: Callable[[], None]
    load: Callable[[], None]


@dataclass
class PrinterWatch:
    """A `ReceiptPrinter` wrapper that notes each job printed and each try the printer
    refused, so the demo can tell whether anything printed twice."""

    inner: ReceiptPrinter
    printed: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # tries, by fault reason

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        try:
            self.inner.print_job(name, escpos, text)
        except PrinterFault as fault:
            self.refused[fault.reason] += 1
            raise
        self.printed.append(name)

    @property
    def printed_twice(self) -> list[str]:
        return sorted(name for name, count in Counter(self.printed).items() if count > 1)
