"""The host's 0500: it never closes a batch around an attempt still in progress."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from databases import Database
from host_messages import MERCHANT, TERMINAL, sale
from host_rig import answer, running_host
from pospay.host.tables import host_journal, host_settlement
from pospay.iso8583 import Message
from pospay.settlement import BatchTotals, totals_field


def settlement(stan: str, totals: BatchTotals) -> Message:
    return {
        "t": "0500",
        "3": "920000",
        "7": "1126180000",
        "11": stan,
        "41": TERMINAL,
        "42": MERCHANT,
        "49": "156",
        "60": "000001",
        "63": totals_field(totals),
    }


async def test_a_0500_while_an_attempt_of_the_batch_is_at_the_issuer_is_answered_09(
    database: Database, tmp_path: Path
) -> None:
    # A late 0500: the terminal, hearing nothing, went on trading in the same batch, and
    # its next sale is at the issuer when the held-back 0500 arrives with the old totals.
    async with running_host(database, tmp_path, gate=True) as (host, gated):
        assert gated is not None
        in_flight = asyncio.ensure_future(answer(host, sale("000002", 1250)))
        await gated.arrived.wait()
        late = await answer(host, settlement("000003", BatchTotals()))
        assert (late["t"], late["39"], late["63"]) == ("0510", "09", totals_field(BatchTotals()))
        with host.engine.connect() as connection:
            assert connection.execute(select(host_settlement)).all() == []  # nothing recorded

        gated.gate.set()
        assert (await in_flight)["39"] == "00"
        both = BatchTotals(debit_count=1, debit_minor=1250)
        settled = await answer(host, settlement("000004", both))
        assert (settled["39"], settled["63"]) == ("00", totals_field(both))
        with host.engine.connect() as connection:
            row = connection.execute(select(host_settlement)).one()
            state = connection.execute(select(host_journal.c.state)).scalar_one()
        assert (row.state, row.host_totals, state) == ("settled", totals_field(both), "settled")
