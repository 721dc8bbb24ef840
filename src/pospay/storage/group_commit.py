"""Group commit: many writers, one fsync.

Each request that must be durable before it is answered hands its work (a function
of a SQLAlchemy connection) to `GroupCommitter.run`. A single writer task takes
everything queued, runs each unit inside its own SAVEPOINT of one transaction, and
commits once. Only after that commit returns are the callers' awaits resolved, so
nothing is acknowledged before it is durable, and a hundred concurrent clients cost
one fsync rather than a hundred.

A unit that raises is rolled back to its savepoint alone and its caller gets the
exception; the others still commit. If the commit itself fails, every caller of the
batch gets `StorageError` and nothing of the batch is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from pospay.errors import StorageError

T = TypeVar("T")
Work = Callable[[Connection], T]


@dataclass
class _Unit:
    work: Work[Any]
    future: asyncio.Future[Any]


class GroupCommitter:
    """Batches units of work from concurrent callers into shared transactions."""

    def __init__(self, engine: Engine, *, max_batch: int = 512) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Unit] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.units = 0

    async def __aenter__(self) -> GroupCommitter:
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._writer())

    async def stop(self) -> None:
        """Finish what is queued, then stop the writer."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def run(self, work: Work[T]) -> T:
        """Run `work` in the next batch; return its result once the batch is committed."""
        if self._task is None:
            raise StorageError("group committer is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Unit(work, future))
        return await future

    async def read(self, work: Work[T]) -> T:
        """Run read-only `work` on a connection of its own, off the event loop."""
        return await asyncio.to_thread(self._read, work)

    def _read(self, work: Work[T]) -> T:
        with self._engine.connect() as connection:
            return work(connection)

    async def _writer(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            outcomes = await asyncio.to_thread(self._commit, batch)
            for unit, (ok, value) in zip(batch, outcomes, strict=True):
                if not unit.future.cancelled():
                    if ok:
                        unit.future.set_result(value)
                    else:
                        unit.future.set_exception(value)
                self._queue.task_done()

    def _commit(self, batch: list[_Unit]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._engine.connect() as connection, connection.begin():
                for unit in batch:
                    savepoint = connection.begin_nested()
                    try:
                        result = unit.work(connection)
                    except Exception as error:  # the caller gets it; the batch goes on
                        savepoint.rollback()
                        outcomes.append((False, error))
                    else:
                        savepoint.commit()
                        outcomes.append((True, result))
        except SQLAlchemyError as error:
            failure = StorageError(f"commit failed, nothing in this batch is durable: {error}")
            return [(False, failure)] * len(batch)
        self.batches += 1
        self.units += len(batch)
        return outcomes
