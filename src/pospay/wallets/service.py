"""The wallet simulator's HTTP edge: one FastAPI app per wallet style.

Each app passes every merchant API request (any path, POST) to its gateway
(`AlipayGateway`, `WechatGateway`) and returns the gateway's body as it is; a call the
payer's behaviour says is never answered is held open until the client gives up. The
payer's side has one JSON route with an OpenAPI schema, `POST /app/scan`: a test payer
scans a merchant-presented QR (`wallets.payer_app`); a code that cannot be paid is
answered with an RFC 9457 problem body naming why.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from pospay.clock import Clock
from pospay.errors import BadInput
from pospay.qr.customer_codes import Wallet
from pospay.wallets.core import WalletCore
from pospay.wallets.payer_app import pay_scanned
from pospay.wallets.transport import Gateway


class Scan(BaseModel):
    payload: str = Field(description="The EMVCo merchant-presented payload the app scanned.")
    payer: str = Field(pattern=r"^[0-9]{4}$", description="The test payer's number, e.g. 0001.")


class ScanResult(BaseModel):
    order_no: str
    status: str
    trade_no: str | None
    payer: str | None


def wallet_app(wallet: Wallet, gateway: Gateway, core: WalletCore, clock: Clock) -> FastAPI:
    app = FastAPI(
        title=f"pospay {wallet.value} wallet simulator",
        description="Test wallets only: documented test payers, test keys, no real money.",
    )

    @app.post("/app/scan", response_model=ScanResult)
    async def scan(request: Scan) -> ScanResult | JSONResponse:
        """A test payer's app scans a merchant QR and pays it as its behaviour says."""
        try:
            order = await pay_scanned(core, clock, wallet, request.payload, request.payer)
        except BadInput as error:
            return JSONResponse(
                {
                    "type": "https://pospay.dev/problems/unusable-qr",
                    "title": "The code cannot be paid with this wallet",
                    "status": 422,
                    "detail": str(error),
                },
                status_code=422,
                media_type="application/problem+json",
            )
        return ScanResult(
            order_no=order.order_no,
            status=order.status.value,
            trade_no=order.trade_no,
            payer=order.payer_masked,
        )

    @app.post("/{path:path}", include_in_schema=False)
    async def merchant_api(path: str, request: Request) -> Response:
        answer = await gateway.handle("/" + path, await request.body())
        if answer is None:
            await asyncio.Event().wait()  # the behaviour "never answers": the client times out
        assert answer is not None
        kind = {b"{": "application/json", b"<": "text/xml"}.get(answer[:1], "text/plain")
        return Response(answer, media_type=f"{kind}; charset=utf-8")

    return app
