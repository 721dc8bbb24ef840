"""A thermal printer on the network: raw ESC/POS to TCP port 9100 through python-escpos.

One connection per job. Before sending, the printer is asked its real-time status
(DLE EOT 1..4); a printer that cannot print makes `print_job` raise `PrinterFault`
with the reason (paper_out, cover_open, jam, offline), so the print queue keeps the
job pending. After sending, the status is asked once more: the answer comes once the
printer has taken the job, and a fault that appeared meanwhile (the paper ran out
during the job) is raised too. A printer that cannot be reached raises
``unreachable``; one that does not answer in `timeout` seconds raises ``timeout``.

Printers that never answer DLE EOT are used with ``status=False``: the bytes are
sent and only transport faults are reported.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from pospay.errors import PrinterFault
from pospay.printer.status import NEAR_END, fault_reason, is_status_byte

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
DEFAULT_PORT = 9100


class NetworkPrinter:
    def __init__(
        self, host: str, port: int = DEFAULT_PORT, *, timeout: float = 10.0, status: bool = True
    ) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"printer port {port}: 1 to 65535")
        if timeout <= 0:
            raise ValueError(f"printer timeout {timeout}: must be positive")
        self.host = host
        self.port = port
        self.timeout = timeout
        self.status = status

    def __repr__(self) -> str:
        return f"NetworkPrinter({self.host!r}, {self.port})"

    def print_job(self, name: str, escpos: bytes, text: str) -> None:
        # Imported here: importing python-escpos configures logging (see receipts.escpos).
        from escpos.printer import Network

        printer = Network(self.host, self.port, timeout=self.timeout)
        try:
            # What Network.open() does, except that a failed connect closes its socket.
            printer.device = socket.create_connection((self.host, self.port), self.timeout)
        except TimeoutError as error:
            raise PrinterFault("timeout") from error
        except OSError as error:
            raise PrinterFault("unreachable") from error
        try:
            if self.status:
                self._check(printer)
            printer._raw(escpos)
            if self.status:
                self._check(printer)
        except TimeoutError as error:
            raise PrinterFault("timeout") from error
        except OSError as error:
            raise PrinterFault("unreachable") from error
        finally:
            printer.close()
        log.info("printed %s on %s:%d", name, self.host, self.port)

    def _check(self, printer: Any) -> None:
        answers = [_status(printer, n) for n in (1, 2, 3, 4)]
        reason = fault_reason(*answers)
        if reason is not None:
            raise PrinterFault(reason)
        if answers[3] & NEAR_END:
            log.warning("printer %s:%d: paper near end", self.host, self.port)


def _status(printer: Any, n: int) -> int:
    answer: bytes = printer.query_status(DLE_EOT + bytes([n]))
    if not answer:
        raise PrinterFault("unreachable")  # the printer closed the connection
    if not is_status_byte(answer[-1]):
        raise PrinterFault("bad_status")
    return answer[-1]
