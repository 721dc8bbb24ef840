"""`pospay demo --faults`: the trading day with the failures a shop really meets.

The demo's faults are a fixed script, so the summary reads the same every time:

- the host's answer to a sale is lost on the way back (the host approved it);
- a sale's request is lost on the way out (the host never sees it);
- a sale's answer is lost, and so is the answer to the reversal that follows;
- the printer runs out of paper for a few attempts, then paper is loaded.

Each is injected at the terminal's edge — the `HostLink` under the MAC layer and the
`ReceiptPrinter` — so the terminal, host and issuer code run unchanged and recover the
way they do in the field (status query, reversal store-and-forward, print queue).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from pospay.errors import OutcomeUnknown, PrinterFault
from pospay.iso8583 import Message
from pospay.printer import ReceiptPrinter
from pospay.terminal.link import HostLink


class LinkFault(StrEnum):
    LOSE_RESPONSE = "lose_response"  # the host acts, its answer never arrives
    LOSE_REQUEST = "lose_request"  # the request never reaches the host


@dataclass
class FaultyLink:
    """A `HostLink` that loses the messages it is told to, once each, in order."""

    inner: HostLink
    armed: list[tuple[str, LinkFault]] = field(default_factory=list)  # (MTI, fault)
    injected: Counter[str] = field(default_factory=Counter)

    def arm(self, mti: str, fault: LinkFault) -> None:
        """Lose (per `fault`) the next message of type `mti`."""
        self.armed.append((mti, fault))

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        fault = self._take(request.get("t", ""))
        if fault is LinkFault.LOSE_REQUEST:
            self.injected[f"{request['t']} {fault.value}"] += 1
            raise OutcomeUnknown(f"no response within {timeout:g} s (demo: request lost)")
        response = await self.inner.exchange(request, timeout=timeout)
        if fault is LinkFault.LOSE_RESPONSE:
            self.injected[f"{request['t']} {fault.value}"] += 1
            raise OutcomeUnknown(f"no response within {timeout:g} s (demo: answer lost)")
        return response

    async def close(self) -> None:
        await self.inner.close()

    def _take(self, mti: str) -> LinkFault | None:
        for index, (wanted, fault) in enumerate(self.armed):
            if wanted == mti:
                del self.armed[index]
                return fault
        return None


@dataclass
class PaperOutPrinter:
    """A printer that is out of paper while `out_of_paper` is set."""

    inner: ReceiptPrinter
    out_of_paper: bool = False
    refused: int = 0
    printed_late: int = 0
    _refused_jobs: set[str] = field(default_factory=set)

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        if self.out_of_paper:
            self.refused += 1
            self._refused_jobs.add(name)
            raise PrinterFault("paper_out")
        self.inner.print_job(name, escpos, text)
        if name in self._refused_jobs:
            self._refused_jobs.discard(name)
            self.printed_late += 1
