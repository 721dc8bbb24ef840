"""A virtual network thermal printer: raw ESC/POS over TCP, each job written as text and
as an image, real-time status answered, faults on request.

`PrinterServer` runs inside an event loop (what `pospay printer serve` runs).
`VirtualPrinter` runs one in a thread of its own, so a caller whose printer calls
block (the print queue calls `ReceiptPrinter.print_job` synchronously) can use it in
the same process: ``async with VirtualPrinter(out=folder) as printer:`` or ``with``.

Each connection has its own decoder. A status request (DLE EOT n) is answered when the
decoder reaches it, in stream order, so an answer to a request sent after a job means
the job has been taken (a real printer answers at once, ahead of its buffer). A cut
ends a job: it becomes ``NNNN.txt`` (its text, QR payloads and decoder notes) and
``NNNN.png`` in the output folder, numbered on from what the folder already holds.
While a fault that stops printing is set (paper out, cover open, jam, offline) the
status says so and jobs are refused: counted, not printed. `delay` makes every job
take that many seconds, and with it every status answer asked after the job.

The control channel is a line protocol on a second port (`control_port`), one command
per line, one JSON object back per line:

    status                  {"ok": true, "faults": [...], "delay": 0.0, "printed": 3, "refused": 0}
    fault paper_out         set a fault (paper_out, near_end, cover_open, jam, offline)
    clear [FAULT]           clear one fault, or all of them
    delay SECONDS           slow down (0 for full speed)
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pospay.errors import CannotListen
from pospay.printer.escpos_decode import EscposDecoder, Event, StatusRequest
from pospay.printer.job import DecodedJob
from pospay.printer.render import render_png
from pospay.printer.status import PrinterState

log = logging.getLogger(__name__)

PAPER_DOTS = {58: 384, 80: 576}
_NUMBERED = re.compile(r"^(\d{4,})\.txt$")
_Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PrintedJob:
    number: int
    job: DecodedJob
    text_path: Path
    png_path: Path


class PrinterServer:
    def __init__(
        self,
        out: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 9100,
        control_port: int | None = 0,
        dots: int = 576,
        faults: Iterable[str] = (),
        delay: float = 0.0,
    ) -> None:
        if dots not in PAPER_DOTS.values():
            raise ValueError(f"paper width {dots} dots: 384 (58 mm) or 576 (80 mm)")
        self.out = out
        self.host = host
        self.dots = dots
        self.state = PrinterState()
        for fault in faults:
            self.state.set(fault)
        self.delay = delay
        self.printed: list[PrintedJob] = []
        self.refused = 0
        self._lock = threading.Lock()  # printed/refused are read from other threads
        self._wanted = (port, control_port)
        self._servers: list[asyncio.Server] = []
        self._clients: set[asyncio.StreamWriter] = set()
        self._paper = asyncio.Lock()
        self.port = 0
        self.control_port: int | None = None

    async def start(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        port, control_port = self._wanted
        server = await self._listen(self._printing, "ESC/POS", port)
        self.port = server.sockets[0].getsockname()[1]
        if control_port is not None:
            control = await self._listen(self._control, "the printer's control", control_port)
            self.control_port = control.sockets[0].getsockname()[1]

    async def _listen(
        self, handler: _Handler, service: str, port: int
    ) -> asyncio.base_events.Server:
        """Listen on `port` for `service`; `CannotListen` naming it (and nothing left
        listening) if the port is taken or the address is not ours."""
        try:
            server = await asyncio.start_server(handler, self.host, port)
        except (OSError, OverflowError) as error:
            await self.close()
            raise CannotListen(service, self.host, port, str(error)) from None
        self._servers.append(server)
        return server

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._clients):
            writer.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            printed, refused = len(self.printed), self.refused
        return {
            "faults": self.state.faults,
            "delay": self.delay,
            "printed": printed,
            "refused": refused,
        }

    # -- printing --------------------------------------------------------------------

    async def _printing(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = EscposDecoder()
        self._clients.add(writer)
        try:
            while data := await reader.read(65536):
                await self._act(decoder.feed(data), writer)
            await self._act(decoder.close(), writer)
        except ConnectionError as error:
            log.info("printer connection dropped: %s", error)
        finally:
            self._clients.discard(writer)
            writer.close()

    async def _act(self, events: list[Event], writer: asyncio.StreamWriter) -> None:
        for event in events:
            if isinstance(event, StatusRequest):
                writer.write(bytes([self.state.status_byte(event.n)]))
                await writer.drain()
            else:
                await self._print(event.job)

    async def _print(self, job: DecodedJob) -> None:
        if self.delay:  # a slow printer: what comes after the job waits for it
            await asyncio.sleep(self.delay)
        if not self.state.can_print:
            with self._lock:
                self.refused += 1
            log.warning("job refused: printer faulted (%s)", ", ".join(self.state.faults))
            return
        async with self._paper:  # one job on the paper at a time, numbered in order
            number = _next_number(self.out)
            text_path = self.out / f"{number:04d}.txt"
            png_path = self.out / f"{number:04d}.png"
            try:
                await asyncio.to_thread(_write, job, self.dots, text_path, png_path)
            except Exception:  # a printer that cannot draw a job still answers the next one
                log.exception("job %04d could not be rendered", number)
                job.notes.append("the image could not be rendered; see the printer's log")
                text_path.write_text(job.transcript(), encoding="utf-8")
            with self._lock:
                self.printed.append(PrintedJob(number, job, text_path, png_path))
        log.info("printed job %04d (%d lines, %d QR)", number, len(job.lines), len(job.qr_payloads))

    # -- control ---------------------------------------------------------------------

    async def _control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while line := await reader.readline():
                reply = self.command(line.decode("utf-8", errors="replace"))
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass  # the client hung up: its session simply ends
        finally:
            self._clients.discard(writer)
            writer.close()

    def command(self, line: str) -> dict[str, Any]:
        """One control command (see the module docstring); the reply as a dict."""
        words = line.split()
        try:
            match words:
                case ["status"]:
                    pass  # the reply below is the status
                case ["fault", fault]:
                    self.state.set(fault)
                case ["clear"]:
                    self.state.clear()
                case ["clear", fault]:
                    self.state.set(fault, on=False)
                case ["delay", seconds]:
                    self.delay = _seconds(seconds)
                case _:
                    raise ValueError(
                        f"unknown command {line.strip()!r}: one of status, fault FAULT, "
                        "clear [FAULT], delay SECONDS"
                    )
        except ValueError as error:
            return {"ok": False, "error": str(error)}
        return {"ok": True, **self.snapshot()}


def _seconds(text: str) -> float:
    """A control command's delay: a number of seconds from 0 to 3600."""
    try:
        delay = float(text)
    except ValueError:
        delay = math.nan
    if not 0 <= delay <= 3600:
        raise ValueError(f"delay {text}: not a number of seconds from 0 to 3600 (e.g. delay 2.5)")
    return delay


def _next_number(out: Path) -> int:
    numbers = [int(m.group(1)) for p in out.iterdir() if (m := _NUMBERED.match(p.name))]
    return max(numbers, default=0) + 1


def _write(job: DecodedJob, dots: int, text_path: Path, png_path: Path) -> None:
    render_png(job, dots, png_path.with_suffix(".png.part"))
    png_path.with_suffix(".png.part").replace(png_path)
    text_path.with_suffix(".txt.part").write_text(job.transcript(), encoding="utf-8")
    text_path.with_suffix(".txt.part").replace(text_path)


class VirtualPrinter:
    """A `PrinterServer` in a thread with its own event loop."""

    def __init__(
        self,
        out: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        control_port: int | None = 0,
        dots: int = 576,
        faults: Iterable[str] = (),
        delay: float = 0.0,
    ) -> None:
        self._server = PrinterServer(
            out,
            host=host,
            port=port,
            control_port=control_port,
            dots=dots,
            faults=faults,
            delay=delay,
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def control_port(self) -> int | None:
        return self._server.control_port

    @property
    def jobs(self) -> list[DecodedJob]:
        return [printed.job for printed in self.printed]

    @property
    def printed(self) -> list[PrintedJob]:
        with self._server._lock:
            return list(self._server.printed)

    @property
    def refused(self) -> int:
        return int(self._server.snapshot()["refused"])

    @property
    def faults(self) -> list[str]:
        return self._server.state.faults

    def set_fault(self, fault: str) -> None:
        self._server.state.set(fault)

    def clear_fault(self, fault: str | None = None) -> None:
        if fault is None:
            self._server.state.clear()
        else:
            self._server.state.set(fault, on=False)

    def set_delay(self, seconds: float) -> None:
        self._server.delay = seconds

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="virtual-printer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        """Stop listening and wait for the thread; stopping twice is harmless."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._thread = self._loop = self._stop = None

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self._server.start()
        except BaseException as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._server.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
