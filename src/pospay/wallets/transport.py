"""How a wallet client reaches its wallet: one seam, as httpx's transports are.

`WalletTransport.post` sends one request body to a path and returns the answer body.
`HttpTransport` does it over HTTP with httpx (the real services, `pospay wallet serve`);
tests pass `httpx.ASGITransport` over the FastAPI app to the same class; the chaos
simulation passes a transport of its own that calls the wallet's gateway on its node
across a faulty link. A transport that gets no answer raises `TimeoutError` (the call
may have been acted on); one that certainly did not send raises `WalletUnreachable`.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from pospay.errors import LinkError


class WalletUnreachable(LinkError):
    """The wallet could not be reached: the request was not sent."""


class WalletTransport(Protocol):
    async def post(self, path: str, body: bytes, content_type: str) -> bytes: ...


class Gateway(Protocol):
    """A wallet's API (`AlipayGateway`, `WechatGateway`): a body in, a body out, or None
    when the wallet does not answer at all."""

    async def handle(self, path: str, body: bytes) -> bytes | None: ...


class LocalTransport:
    """Calls `gateway` in this process, without HTTP: tests and the simulation."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def post(self, path: str, body: bytes, content_type: str) -> bytes:
        answer = await self._gateway.handle(path, body)
        if answer is None:
            raise TimeoutError("the wallet did not answer")
        return answer


class HttpTransport:
    """Requests over HTTP to `base_url` (or through `transport`, e.g. an ASGI app)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def post(self, path: str, body: bytes, content_type: str) -> bytes:
        try:
            response = await self._client.post(
                path, content=body, headers={"Content-Type": content_type}
            )
        except httpx.ConnectError as error:
            raise WalletUnreachable(f"cannot reach the wallet: {error}") from error
        except httpx.TimeoutException as error:
            raise TimeoutError(f"the wallet did not answer: {error}") from error
        except httpx.TransportError as error:
            raise TimeoutError(f"the wallet's answer was lost: {error}") from error
        return response.content

    async def aclose(self) -> None:
        await self._client.aclose()
