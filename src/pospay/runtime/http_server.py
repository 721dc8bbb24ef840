"""Serving an ASGI app (FastAPI) from inside a running event loop, with uvicorn.

The composition root starts several HTTP services in one process (wallets, the host's
notification listener) next to the ISO 8583 server; each gets its own port (0: a free
one, read back from `port`). Signals stay with the caller: `pospay serve` handles
SIGINT and SIGTERM itself, so uvicorn must not capture them. The listening socket is
bound here, before uvicorn sees it: a port in use or an address that does not resolve
is `CannotListen` naming the service, where uvicorn itself would exit the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from typing import Any

import uvicorn

from pospay.errors import CannotListen


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HttpServer:
    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, service: str = "HTTP"
    ) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None
        self.host = host
        self._wanted = port
        self.service = service

    @property
    def port(self) -> int:
        servers = getattr(self._server, "servers", [])
        return int(servers[0].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        try:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            listening = socket.create_server((self.host, self._wanted), family=family)
        except (OSError, OverflowError) as error:
            raise CannotListen(self.service, self.host, self._wanted, str(error)) from None
        self._task = asyncio.create_task(self._server.serve([listening]), name="http-server")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it (e.g. the port is taken)
                raise OSError("the HTTP server stopped before it started")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
