"""The terminal's side of the link to the host.

`HostLink` is the seam: the engine only calls `exchange`. `TcpHostLink` speaks
framed ISO 8583 over TCP; tests and the simulation pass their own links.

The one distinction that matters: `LinkError` means the request was certainly not
sent; `OutcomeUnknown` means it may have reached the host, and the attempt must be
resolved rather than assumed failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from pospay.errors import LinkError, MessageFormatError, OutcomeUnknown
from pospay.iso8583 import Message, decode, encode, read_frame, write_frame

log = logging.getLogger(__name__)


class HostLink(Protocol):
    async def exchange(self, request: Message, *, timeout: float) -> Message:
        """Send `request`, return the host's response to it (matched by STAN and terminal id)."""
        ...

    async def close(self) -> None: ...


class TcpHostLink:
    """One persistent TCP connection to the host, reopened when it breaks."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 5.0) -> None:
        self._host = host
        self._port = port
        self._connect_timeout = connect_timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        packed = encode(request)
        reader, writer = await self._connection()
        try:
            await write_frame(writer, packed)
        except ConnectionError as error:
            await self.close()
            raise OutcomeUnknown(f"connection failed while sending: {error}") from error
        try:
            return await asyncio.wait_for(self._response_to(reader, request), timeout)
        except TimeoutError:
            await self.close()  # a late response must not be taken for the next request's
            raise OutcomeUnknown(f"no response within {timeout:g} s") from None
        except (ConnectionError, asyncio.IncompleteReadError, MessageFormatError) as error:
            await self.close()
            raise OutcomeUnknown(f"connection failed while waiting: {error}") from error

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is not None and self._writer is not None and not self._writer.is_closing():
            return self._reader, self._writer
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), self._connect_timeout
            )
        except (OSError, TimeoutError) as error:
            raise LinkError(f"cannot reach host {self._host}:{self._port}: {error}") from error
        self._reader, self._writer = reader, writer
        return reader, writer

    @staticmethod
    async def _response_to(reader: asyncio.StreamReader, request: Message) -> Message:
        while True:
            data = await read_frame(reader)
            if data is None:
                raise ConnectionError("host closed the connection")
            response = decode(data)
            if response.get("11") == request.get("11") and response.get("41") == request.get("41"):
                return response
            log.warning("discarding a response for STAN %s", response.get("11"))
