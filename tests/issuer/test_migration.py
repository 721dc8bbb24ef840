"""The issuer's Alembic branch creates exactly the tables `pospay.issuer.tables` declares,
and what an upgraded database lacks is filled in when the cards are installed again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, update

from pospay.emv import SimulatedCard, TerminalData
from pospay.issuer import TEST_CARDS, metadata
from pospay.issuer.tables import issuer_account
from pospay.storage import migrate
from pospay.transaction import Method

from .support import running_issuer, sale


def test_migrated_schema_equals_declared_tables(engine: Engine) -> None:
    migrate(engine, "issuer")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": True},
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_migration_creates_only_issuer_tables_and_runs_twice(engine: Engine) -> None:
    migrate(engine, "issuer")
    migrate(engine, "issuer")
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(metadata.tables)
    assert all(name.startswith("issuer_") for name in tables)


async def test_a_card_opened_before_psns_were_kept_gets_its_psn_at_the_next_install(
    issuer_engine: Engine,
) -> None:
    replaced = next(card for card in TEST_CARDS if card.psn != "01")
    async with running_issuer(issuer_engine):
        pass
    with issuer_engine.begin() as connection:  # as revision issuer_0004 leaves older cards
        connection.execute(update(issuer_account).values(card_sequence=None))
    async with running_issuer(issuer_engine) as issuer:
        with issuer_engine.connect() as connection:
            psns = set(connection.execute(select(issuer_account.c.card_sequence)).scalars())
        assert psns == {None, *(card.psn for card in TEST_CARDS)}  # None: the house accounts
        # Read as PSN 01, its ARQC made under PSN 01: the card file says 02.
        chip = SimulatedCard(replaced.pan, "01")
        data = TerminalData(1250, "156", "156", datetime(2026, 11, 26), bytes(4))
        request = replace(
            sale(replaced.pan, replaced.expiry, 1250, reference="old-psn"),
            method=Method.CARD_CHIP,
            card_sequence="001",
            icc_data=chip.generate_ac(data).field_55(),
        )
        result = await issuer.authorise(request)
    assert (result.response_code, result.balance) == ("05", None)
    assert "PAN sequence number" in result.reason
