"""The storage seam: what the terminal, the host and the issuer ask of their database.

`Committer.run(work)` runs `work` (a function of a SQLAlchemy connection) as one
durable unit and returns its result only after the unit is committed; `read(work)`
runs read-only work. `GroupCommitter` is the production implementation (many units,
one fsync); the chaos simulation passes `simulation.SimulatedDisk`, which runs each
unit inline on the event loop and can crash its node just before or just after a
commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")


class Committer(Protocol):
    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run `work` as one unit; return its result once the unit is durable."""
        ...

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run read-only `work` on a connection of its own."""
        ...
