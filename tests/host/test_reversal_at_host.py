"""The host's handling of reversals (0400/0410), driven through `HostService.handle`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from databases import Database
from host_messages import reversal, sale
from host_rig import answer, running_host
from pospay.host.reversals import reversals
from pospay.host.tables import host_journal
from pospay.iso8583.fields import amount_field
from pospay.transaction import State


async def test_an_approved_sale_is_reversed_and_its_money_returned(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 1250)
        assert (await answer(host, original))["39"] == "00"
        assert len(host.movements()) == 1
        response = await answer(host, reversal(original, "000003"))
        assert response["t"] == "0410" and response["39"] == "00"
        assert (response["11"], response["4"]) == ("000003", amount_field(1250))
        assert "2" not in response
        assert host.state_of("000002") is State.REVERSED
        assert host.movements() == {}
        with host.engine.connect() as connection:
            [stored] = reversals(connection)
        assert (stored.reason_code, stored.response_code) == ("98", "00")
        assert stored.original_id is not None


async def test_a_repeated_reversal_replays_its_answer_and_reverses_once(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 700)
        await answer(host, original)
        request = reversal(original, "000003")
        answers = [await answer(host, request) for _ in range(3)]
        assert answers[0] == answers[1] == answers[2]
        assert answers[0]["39"] == "00"
        assert host.reversal_entries() == 1
        with host.engine.connect() as connection:
            assert len(reversals(connection)) == 1


async def test_a_reversal_of_an_unseen_original_is_answered_25_and_recorded(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000009", 500)
        response = await answer(host, reversal(original, "000010", reason="06"))
        assert response["39"] == "25"
        with host.engine.connect() as connection:
            [stored] = reversals(connection)
            # The original's key is recorded as a tombstone: reversed, with no card.
            [tombstone] = connection.execute(select(host_journal)).all()
        assert (stored.original_id, stored.response_code, stored.reason_code) == (None, "25", "06")
        assert (tombstone.stan, tombstone.transmission_at) == (original["11"], original["7"])
        assert (tombstone.state, tombstone.tombstone, tombstone.response_code) == (
            "reversed",
            "reversal",
            None,
        )
        assert (tombstone.kind, tombstone.amount_minor, tombstone.pan_masked) == ("sale", 500, "")


async def test_an_original_arriving_after_its_reversal_is_refused_and_moves_nothing(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000011", 700)
        assert (await answer(host, reversal(original, "000012")))["39"] == "25"
        late = await answer(host, original)  # delayed on the network, reordered
        assert late["39"] == "94"
        assert host.movements() == {} and host.reversal_entries() == 0
        assert host.state_of("000011") is State.REVERSED
        with host.engine.connect() as connection:
            row = connection.execute(select(host_journal)).one()
        assert (row.replays, row.last_replay_code) == (1, "94")
        # A retry of the reversal gets its stored answer; a new reversal of the same
        # original is answered 25 again and records nothing more.
        assert (await answer(host, reversal(original, "000012")))["39"] == "25"
        assert (await answer(host, reversal(original, "000013")))["39"] == "25"
        with host.engine.connect() as connection:
            assert (
                connection.execute(select(func.count()).select_from(host_journal)).scalar_one() == 1
            )
            assert [r.original_id for r in reversals(connection)] == [None, None]


async def test_a_reversal_naming_no_card_request_in_field_90_is_a_format_error(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        bad = reversal(sale("000014", 700), "000015") | {"3": "310000"}
        bad["90"] = "0100" + bad["90"][4:]  # an inquiry is never an 0100
        assert (await answer(host, bad))["39"] == "30"
        with host.engine.connect() as connection:
            assert (
                connection.execute(select(func.count()).select_from(host_journal)).scalar_one() == 0
            )
            assert reversals(connection) == []


async def test_a_reversal_of_a_declined_original_changes_nothing(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        original = sale("000002", 66605)  # magic amount: do not honour
        assert (await answer(host, original))["39"] == "05"
        response = await answer(host, reversal(original, "000003"))
        assert response["39"] == "00"
        assert host.state_of("000002") is State.DECLINED
        assert host.reversal_entries() == 0 and host.movements() == {}


async def test_a_reversal_of_an_original_already_reversed_is_confirmed_without_the_channel(
    database: Database, tmp_path: Path
) -> None:
    """A second reversal of the same sale under its own STAN (a terminal that restarted,
    or recovery that reversed it first) is answered 00 from the journal at once: the
    channel has reversed it already, so a slow or unreachable channel cannot hold it up."""
    async with running_host(database, tmp_path, gate=False) as (host, gated):
        assert gated is not None
        gated.gate.set()
        original = sale("000002", 4200)
        assert (await answer(host, original))["39"] == "00"
        assert (await answer(host, reversal(original, "000003")))["39"] == "00"
        assert len(gated.reversals) == 1
        again = await answer(host, reversal(original, "000004", reason="06"))
        assert (again["t"], again["11"], again["39"]) == ("0410", "000004", "00")
        assert len(gated.reversals) == 1  # not asked again
        assert host.state_of("000002") is State.REVERSED
        assert host.reversal_entries() == 1 and host.movements() == {}
        with host.engine.connect() as connection:
            assert [row.response_code for row in reversals(connection)] == ["00", "00"]


@pytest.mark.parametrize("hold_before_issuer", [True, False], ids=["issuer-late", "host-late"])
async def test_a_late_authorisation_never_resurrects_a_reversed_original(
    database: Database, tmp_path: Path, hold_before_issuer: bool
) -> None:
    """The reversal overtakes the authorisation it reverses, at the issuer or at the host."""
    async with running_host(database, tmp_path, gate=hold_before_issuer) as (host, gated):
        assert gated is not None
        original = sale("000002", 4200)
        in_flight = asyncio.create_task(host.service.handle(original))
        await gated.arrived.wait()
        assert host.state_of("000002") is State.SENT
        response = await answer(host, reversal(original, "000003"))
        assert response["39"] == "00"
        assert host.state_of("000002") is State.REVERSED
        gated.gate.set()
        late = await in_flight
        assert late is not None
        # The issuer refused the late authorisation (its tombstone), or had already
        # approved it and then reversed it: either way no money stays moved.
        assert late["39"] == ("25" if hold_before_issuer else "00")
        assert host.state_of("000002") is State.REVERSED
        assert host.movements() == {}


async def test_a_reversal_with_a_broken_field_90_is_a_format_error(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path) as (host, _):
        request = reversal(sale("000002", 100), "000003")
        request["90"] = "0200" + "9" * 30  # too short
        assert (await answer(host, request))["39"] == "30"
        del request["90"]
        assert (await answer(host, request))["39"] == "30"
        with host.engine.connect() as connection:
            assert reversals(connection) == []


async def test_an_issuer_timeout_after_the_reversal_leaves_the_original_reversed(
    database: Database, tmp_path: Path
) -> None:
    async with running_host(database, tmp_path, gate=True, channel_timeout=0.3) as (host, gated):
        assert gated is not None
        original = sale("000002", 4200)
        in_flight = asyncio.create_task(host.service.handle(original))
        await gated.arrived.wait()
        assert (await answer(host, reversal(original, "000003")))["39"] == "00"
        late = await in_flight  # the issuer never answers it in time
        assert late is not None and late["39"] == "91"
        assert host.state_of("000002") is State.REVERSED
        gated.gate.set()
        assert host.movements() == {}
