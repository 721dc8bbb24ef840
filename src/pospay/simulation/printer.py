"""A terminal's receipt printer in the simulation: paper that runs out, jams, goes offline.

When the fault plan strikes a print, the printer stays down for a while and every
print until then raises `PrinterFault`, as a real one does until someone fixes it.
What does come out is kept (`paper`), so the simulation can check that no original
receipt was ever printed twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import NoReturn

from pospay.errors import PrinterFault
from pospay.simulation.faults import Fault, FaultPlan, Site

DOWN = (10.0, 180.0)  # seconds until someone fixes the printer

_REASONS = {
    Fault.PRINTER_PAPER_OUT: "paper_out",
    Fault.PRINTER_JAM: "jam",
    Fault.PRINTER_OFFLINE: "offline",
}


class SimPrinter:
    def __init__(self, faults: FaultPlan) -> None:
        self._faults = faults
        self._down_until = 0.0
        self._reason = ""
        self.paper: Counter[str] = Counter()  # job name -> times printed
        self.refused = 0
        # Jobs printed once the printer was fixed, after it had refused them.
        self.printed_late = 0
        self._refused_jobs: set[str] = set()

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        now = asyncio.get_running_loop().time()
        if now < self._down_until and self._faults.enabled:
            self._refuse(name)
        fault = self._faults.draw(Site.PRINT)
        if fault is not None:
            self._down_until = now + self._faults.uniform(*DOWN)
            self._reason = _REASONS[fault]
            self._refuse(name)
        self.paper[name] += 1
        if name in self._refused_jobs:
            self._refused_jobs.discard(name)
            self.printed_late += 1

    def _refuse(self, name: str) -> NoReturn:
        self.refused += 1
        self._refused_jobs.add(name)
        raise PrinterFault(self._reason)
