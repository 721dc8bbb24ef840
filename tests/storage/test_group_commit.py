"""Group commit: durable before answered, batched across concurrent callers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, func, insert, select

from databases import Database
from pospay.errors import StorageError
from pospay.storage import GroupCommitter

metadata = MetaData()
items = Table(
    "gc_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True),
)


def add(name: str) -> Callable[[Connection], int]:
    def work(connection: Connection) -> int:
        return int(
            connection.execute(insert(items).values(name=name).returning(items.c.id)).scalar_one()
        )

    return work


async def test_answers_come_after_commit_and_batches_are_shared(database: Database) -> None:
    engine = database.engine()
    metadata.create_all(engine)
    async with GroupCommitter(engine) as committer:
        ids = await asyncio.gather(*(committer.run(add(f"item{i}")) for i in range(200)))
        assert len(set(ids)) == 200
        # Every answered unit is visible to an independent connection: it was committed.
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(items)).scalar_one() == 200
        assert committer.units == 200
        assert committer.batches < 200
    engine.dispose()


async def test_a_failing_unit_fails_alone(database: Database) -> None:
    engine = database.engine()
    metadata.create_all(engine)
    async with GroupCommitter(engine) as committer:
        await committer.run(add("taken"))
        results = await asyncio.gather(
            committer.run(add("a")),
            committer.run(add("taken")),
            committer.run(add("b")),
            return_exceptions=True,
        )
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], Exception)
    with engine.connect() as connection:
        names = set(connection.execute(select(items.c.name)).scalars())
    assert names == {"taken", "a", "b"}
    engine.dispose()


async def test_run_before_start_is_refused(database: Database) -> None:
    committer = GroupCommitter(database.engine())
    with pytest.raises(StorageError):
        await committer.run(add("x"))
