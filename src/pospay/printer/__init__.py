"""Where receipts go: printers behind one small protocol.

The terminal hands a finished job (ESC/POS bytes plus the same receipt as text) to
a `ReceiptPrinter`; a fault is raised as `pospay.errors.PrinterFault` and never
changes the transaction. `DirectoryPrinter` writes jobs to a folder; `NetworkPrinter`
sends them to a thermal printer on TCP port 9100 and reads its status (DLE EOT);
`VirtualPrinter` is such a printer, in software, that decodes and renders each job.
"""

from pospay.printer.directory import DirectoryPrinter
from pospay.printer.network import NetworkPrinter
from pospay.printer.protocol import ReceiptPrinter
from pospay.printer.virtual import PrinterServer, VirtualPrinter

__all__ = [
    "DirectoryPrinter",
    "NetworkPrinter",
    "PrinterServer",
    "ReceiptPrinter",
    "VirtualPrinter",
]
