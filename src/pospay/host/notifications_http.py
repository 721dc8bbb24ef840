"""The host's listener for wallet notifications: `POST /notify/{wallet}` (HTTP edge).

The body goes as it came to `WalletDesk.notify`, which verifies its signature with the
wallet's key and records a payment only for an order still waiting for one. A verified
notification is acknowledged the way its wallet expects (``success``, or WeChat's
SUCCESS XML), so the wallet stops resending it; anything else is answered with an
RFC 9457 problem body naming the fault, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from pospay.host.wallet_desk import WalletDesk
from pospay.qr.customer_codes import Wallet

_TITLES = {
    400: "The notification cannot be verified",
    404: "No such order or wallet",
    503: "Not ready",
}


def notification_app(desk_of: Callable[[], WalletDesk | None]) -> FastAPI:
    """The listener; `desk_of` gives the host's desk (None until the host is up: 503)."""
    app = FastAPI(title="pospay host: wallet notifications")

    @app.post("/notify/{wallet}")
    async def notify(wallet: str, request: Request) -> Response:
        """A wallet's signed notification that an order was paid."""
        try:
            which = Wallet(wallet)
        except ValueError:
            return _problem(404, f"no wallet {wallet!r}")
        desk = desk_of()
        if desk is None:
            return _problem(503, "the host is not ready")
        answer = await desk.notify(which, await request.body())
        if answer.status != 200:
            return _problem(answer.status, answer.detail)
        media = "text/xml" if answer.body.startswith(b"<") else "text/plain"
        return Response(answer.body, media_type=media)

    return app


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(
        {
            "type": f"https://pospay.dev/problems/notification-{status}",
            "title": _TITLES.get(status, "Refused"),
            "status": status,
            "detail": detail,
        },
        status_code=status,
        media_type="application/problem+json",
    )
