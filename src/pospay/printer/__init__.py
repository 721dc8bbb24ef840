"""Where receipts go: printers behind one small protocol.

The terminal hands a finished job (ESC/POS bytes plus the same receipt as text) to
a `ReceiptPrinter`; a fault is raised as `pospay.errors.PrinterFault` and never
changes the transaction. Network, USB and serial transports join the file printer
here.
"""

from pospay.printer.directory import DirectoryPrinter
from pospay.printer.protocol import ReceiptPrinter

__all__ = ["DirectoryPrinter", "ReceiptPrinter"]
