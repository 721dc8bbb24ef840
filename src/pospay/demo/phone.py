"""The demo's customer phone: it scans the terminal's QR and pays it over the wallet's
HTTP API (`POST /app/scan`), as test payer `payer` would with the wallet's app."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx


class DemoPhone:
    def __init__(self, wallet_url: str, payer: str) -> None:
        self._url = wallet_url
        self._payer = payer
        self.tasks: list[asyncio.Task[None]] = []
        self.answers: list[int] = []

    def show(self, payload: str, expires_at: datetime) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(self._scan(payload)))

    def clear(self) -> None:
        return None

    async def _scan(self, payload: str) -> None:
        async with httpx.AsyncClient(base_url=self._url, timeout=10.0) as client:
            answer = await client.post("/app/scan", json={"payload": payload, "payer": self._payer})
        self.answers.append(answer.status_code)
