"""The host's ISO 8583 TCP server: frames in, `HostService.handle`, frames out.

A connection may carry several requests at once; each is answered when ready
(responses are matched by STAN and terminal id, not by order). A frame that cannot
be read, a message whose MTI cannot be read, or one whose bitmap names a field outside
the layout closes the connection; a message with a readable MTI but a bad field is
answered with response code 30. A request goes to `HostService.answer` as it arrived
(`Received`: decoded, with its bytes, whose MAC is checked over those bytes), with the
peer's address for the refusal log. Nothing in a connection can stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pospay.errors import MessageFormatError, StorageError
from pospay.host.responses import error_response
from pospay.host.service import FORMAT_ERROR, HostService
from pospay.iso8583 import Message, Received, encode, read_frame, write_frame

log = logging.getLogger(__name__)

SYSTEM_MALFUNCTION = "96"


class IsoServer:
    def __init__(self, service: HostService, *, host: str = "127.0.0.1", port: int = 8583) -> None:
        self._service = service
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful when constructed with port 0)."""
        assert self._server is not None, "server not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connection, self._host, self._port)
        log.info("ISO 8583 host listening on %s:%d", self._host, self.port)

    async def stop(self) -> None:
        """Stop accepting and close every connection.

        A request cut off here was journaled as sent before it was forwarded, so it is
        never lost: the terminal reverses it, and the host's recovery resolves it.
        """
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        lock = asyncio.Lock()
        pending: set[asyncio.Task[None]] = set()
        peer = _address(writer.get_extra_info("peername"))
        try:
            while True:
                data = await read_frame(reader)
                if data is None:
                    break
                try:
                    request = Received.from_wire(data)
                except MessageFormatError as fault:
                    response = (
                        error_response(fault.partial, FORMAT_ERROR)
                        if "t" in fault.partial
                        else None
                    )
                    if response is None:
                        log.info("unreadable message, closing connection: %s", fault)
                        break
                    log.info("malformed message answered 30: %s", fault)
                    await self._send(writer, lock, response)
                    continue
                request_task = asyncio.create_task(self._answer(request, peer, writer, lock))
                pending.add(request_task)
                request_task.add_done_callback(pending.discard)
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        except (MessageFormatError, asyncio.IncompleteReadError, ConnectionError) as fault:
            log.info("closing connection: %s", fault)
        except asyncio.CancelledError:
            log.info("connection closed: server stopping")
        finally:
            for request_task in pending:
                request_task.cancel()
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
            self._connections.discard(task)

    async def _answer(
        self,
        request: Received,
        peer: str | None,
        writer: asyncio.StreamWriter,
        lock: asyncio.Lock,
    ) -> None:
        try:
            response = await self._service.answer(request, peer=peer)
        except StorageError:
            log.exception("storage failure; answering 96")
            response = error_response(request.message, SYSTEM_MALFUNCTION)
        except Exception:
            log.exception("unexpected failure; answering 96")
            response = error_response(request.message, SYSTEM_MALFUNCTION)
        if response is not None:
            with contextlib.suppress(ConnectionError):
                await self._send(writer, lock, response)

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, lock: asyncio.Lock, response: Message) -> None:
        packed = encode(response)
        async with lock:
            await write_frame(writer, packed)


def _address(peername: object) -> str | None:
    """host:port of a TCP peer (IPv4 or IPv6), for the refusal log."""
    if isinstance(peername, tuple) and len(peername) >= 2:
        return f"{peername[0]}:{peername[1]}"
    return None
