"""The host's status query (0600/0610), driven through `HostService.handle` and `answer`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from databases import Database
from host_messages import MERCHANT, TERMINAL, reversal, sale, status_query
from host_rig import Host, answer, running_host
from pospay.host.tables import host_journal
from pospay.iso8583 import Received, encode
from pospay.iso8583.fields import amount_field
from pospay.transaction import State


def rows(host: Host) -> list[Any]:
    with host.engine.connect() as connection:
        return list(connection.execute(select(host_journal).order_by(host_journal.c.id)))


def row_count(host: Host) -> int:
    with host.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(host_journal)).scalar_one())


async def test_done_returns_the_stored_approval_and_moves_nothing(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 1250)
        first = await answer(host, original)
        assert first["39"] == "00" and "55" in first
        movements = host.movements()
        before = rows(host)

        response = await answer(host, status_query(original, "000003"))
        assert (response["t"], response["39"], response["44"]) == ("0610", "00", "00")
        assert (response["11"], response["7"]) == ("000003", "1126100200")
        # The stored answer, as the 0210 carried it: the terminal finishes with it.
        for field in ("3", "4", "37", "38", "49", "55"):
            assert response[field] == first[field], field
        assert "2" not in response and "90" not in response
        assert host.movements() == movements
        assert rows(host) == before  # not even a replay is counted


async def test_done_returns_a_stored_decline(database: Database, tmp_path: Path) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 66605)  # magic amount: do not honour
        assert (await answer(host, original))["39"] == "05"
        response = await answer(host, status_query(original, "000003"))
        assert (response["39"], response["44"], response["4"]) == ("00", "05", amount_field(66605))
        assert "38" not in response and host.movements() == {}


async def test_a_reversed_row_is_not_done(database: Database, tmp_path: Path) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 1250)
        assert (await answer(host, original))["39"] == "00"
        assert (await answer(host, reversal(original, "000003")))["39"] == "00"
        response = await answer(host, status_query(original, "000004"))
        assert response["39"] == "09" and "44" not in response and "37" not in response
        assert host.state_of("000002") is State.REVERSED and host.movements() == {}


async def test_a_request_still_at_the_issuer_is_in_progress(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path, gate=True) as (host, gated):
        assert gated is not None
        original = sale("000002", 1250)
        in_flight = asyncio.create_task(host.service.handle(original))
        await gated.arrived.wait()
        response = await answer(host, status_query(original, "000003"))
        assert response["39"] == "09" and "44" not in response
        assert host.state_of("000002") is State.SENT
        gated.gate.set()
        assert ((await in_flight) or {}).get("39") == "00"
        done = await answer(host, status_query(original, "000004"))
        assert (done["39"], done["44"]) == ("00", "00")


async def test_not_found_leaves_a_tombstone_that_refuses_the_late_request(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 1250)
        response = await answer(host, status_query(original, "000003"))
        assert response["39"] == "25" and "37" not in response and "44" not in response
        [tombstone] = rows(host)
        assert (tombstone.stan, tombstone.transmission_at) == (original["11"], original["7"])
        assert (tombstone.state, tombstone.response_code, tombstone.tombstone) == (
            "declined",
            "25",
            "status_query",
        )
        assert (tombstone.kind, tombstone.amount_minor, tombstone.pan_masked) == ("sale", 1250, "")

        # The request, delayed on the network, arrives: refused, never forwarded.
        late = await answer(host, original)
        assert (late["39"], late["37"]) == ("25", tombstone.rrn)
        assert "38" not in late
        assert host.movements() == {}
        [after] = rows(host)
        assert (after.state, after.replays, after.last_replay_code) == ("declined", 1, "25")

        # Asking again, or reversing it, finds the tombstone: still not found.
        assert (await answer(host, status_query(original, "000004")))["39"] == "25"
        assert (await answer(host, reversal(original, "000005")))["39"] == "25"
        assert row_count(host) == 1 and host.reversal_entries() == 0


async def test_a_request_reversed_before_it_arrived_is_not_found(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 1250)
        assert (await answer(host, reversal(original, "000003")))["39"] == "25"
        assert (await answer(host, status_query(original, "000004")))["39"] == "25"
        assert (await answer(host, original))["39"] == "94"
        assert host.movements() == {} and host.state_of("000002") is State.REVERSED


def _garble_90(message: dict[str, str]) -> dict[str, str]:
    return message | {"90": message["90"][:41] + "X"}


def _without_90(message: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in message.items() if key != "90"}


def _inquiry_as_0100(message: dict[str, str]) -> dict[str, str]:
    return message | {"3": "310000", "90": "0100" + message["90"][4:]}


@pytest.mark.parametrize(
    ("spoil", "code"),
    [
        (_without_90, "30"),
        (_garble_90, "30"),
        (_inquiry_as_0100, "30"),  # field 90 names no request the link carries
        (lambda message: message | {"41": "29999999"}, "58"),  # a terminal never signed in
        (lambda message: message | {"42": "898310048169999"}, "58"),  # another merchant
    ],
    ids=["no-field-90", "garbled-field-90", "not-a-card-request", "unknown-terminal", "merchant"],
)
async def test_bad_input_gets_a_specific_code_and_records_nothing(
    database: Database, tmp_path: Path, spoil: Any, code: str
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        response = await answer(host, spoil(status_query(sale("000002", 1250), "000003")))
        assert (response["t"], response["39"]) == ("0610", code)
        assert row_count(host) == 0 and host.movements() == {}


async def test_a_status_query_without_its_mac_is_refused_a0(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        query = status_query(sale("000002", 1250), "000003")
        assert (query["41"], query["42"]) == (TERMINAL, MERCHANT)
        # Signed in: the MAC is due.
        response = await host.service.answer(Received.from_wire(encode(query)))
        assert response is not None and response["39"] == "A0" and "64" not in response
        assert row_count(host) == 0
