"""The demo's printer: the virtual network printer by default, a folder on request.

With the virtual printer (`pospay.printer.VirtualPrinter`, in a thread of its own on a
free port) the terminal prints through `NetworkPrinter` over TCP, exactly as to a
thermal printer in a shop, and each job lands in the out folder as ``NNNN.png`` and
``NNNN.txt``. With a folder (`DirectoryPrinter`), each job is ``NAME.escpos`` and
``NAME.txt``; the demo falls back to it, and says so, if the virtual printer cannot
start. Either way `Paper` runs the printer out of paper and loads it again
(`demo --faults`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pospay.demo.faults import Paper, PaperOutPrinter
from pospay.printer import DirectoryPrinter, NetworkPrinter, ReceiptPrinter, VirtualPrinter

log = logging.getLogger(__name__)

PAPER_OUT = "paper_out"


class PrinterKind(StrEnum):
    VIRTUAL = "virtual"
    DIRECTORY = "directory"


@dataclass
class DemoPrinter:
    printer: ReceiptPrinter
    paper: Paper
    description: str  # what the summary says the receipts were printed on
    virtual: VirtualPrinter | None  # None when printing to a folder


@asynccontextmanager
async def demo_printer(kind: PrinterKind, out: Path) -> AsyncIterator[DemoPrinter]:
    """The printer the demo's terminal prints on, running for the `async with`."""
    if kind is PrinterKind.DIRECTORY:
        yield _directory(out, f"folder {out}/")
        return
    failure: str | None = None
    try:
        virtual = await asyncio.to_thread(VirtualPrinter(out, port=0, control_port=None).start)
    except OSError as error:
        log.warning("the virtual printer could not start (%s): printing to %s", error, out)
        failure = str(error)
    if failure is not None:
        yield _directory(out, f"folder {out}/ (the virtual printer could not start: {failure})")
        return
    try:
        yield DemoPrinter(
            NetworkPrinter("127.0.0.1", virtual.port),
            Paper(
                run_out=lambda: virtual.set_fault(PAPER_OUT),
                load=lambda: virtual.clear_fault(PAPER_OUT),
            ),
            f"virtual printer 127.0.0.1:{virtual.port}, images and text in {out}/",
            virtual,
        )
    finally:
        await asyncio.to_thread(virtual.stop)


def _directory(out: Path, description: str) -> DemoPrinter:
    printer = PaperOutPrinter(DirectoryPrinter(out))

    def run_out() -> None:
        printer.out_of_paper = True

    def load() -> None:
        printer.out_of_paper = False

    return DemoPrinter(printer, Paper(run_out, load), description, None)
