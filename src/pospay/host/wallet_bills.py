"""The wallets' daily bill files, fetched and kept for reconciliation.

Each wallet publishes a merchant's statement of a day (Alipay's bill download URL,
WeChat Pay's downloadbill): every payment, revocation and refund with the host's order
or refund number. The host keeps each as it came, one file per wallet and day
(`<wallet>-<YYYYMMDD>.csv` in the bills folder), written to a temporary name and then
renamed, so a file that exists is whole; the reconciliation of problem 4 of SPEC.md
compares them with the journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from pospay.channels.wallet import WalletChannel
from pospay.qr.customer_codes import Wallet


async def keep_bills(
    wallets: Mapping[Wallet, WalletChannel], day: date, folder: Path
) -> dict[Wallet, Path]:
    """Fetch every wallet's bill of `day` into `folder`; the file of each wallet."""
    kept: dict[Wallet, Path] = {}
    for wallet, channel in sorted(wallets.items()):
        text = await channel.bill(day)
        path = folder / f"{wallet.value}-{day:%Y%m%d}.csv"
        await asyncio.to_thread(_write_whole, path, text)
        kept[wallet] = path
    return kept


def _write_whole(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
