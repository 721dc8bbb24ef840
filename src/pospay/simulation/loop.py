"""An asyncio event loop on virtual time: the simulation's clock.

The loop is a real `asyncio.SelectorEventLoop`, so every `await`, `asyncio.sleep`,
`asyncio.wait_for` and timer of the production code runs unchanged. Only two things
differ: `time()` reads a virtual clock, and the selector never waits — when the loop
would block until its next timer, the clock jumps there instead. With no sockets and
no threads in the simulation, the order of every callback follows from the order in
which they were scheduled, so one seed gives one history.

A loop with nothing ready and no timer can never make progress again: that is a
deadlock of the simulated world, reported as `SimulationDeadlock`.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")

# Virtual time zero: the morning the simulated trading day starts.
EPOCH = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class SimulationDeadlock(RuntimeError):
    """Every task waits and no timer is due: the simulated world is stuck."""


class _Keys(Mapping[Any, selectors.SelectorKey]):
    def __init__(self, keys: dict[int, selectors.SelectorKey]) -> None:
        self._keys = keys

    def __getitem__(self, fileobj: Any) -> selectors.SelectorKey:
        return self._keys[_fd(fileobj)]

    def __iter__(self) -> Any:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _fd(fileobj: Any) -> int:
    return fileobj if isinstance(fileobj, int) else int(fileobj.fileno())


class _VirtualSelector(selectors.BaseSelector):
    """Holds registrations (the loop's own wake-up pipe) and turns waiting into time."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._loop = loop
        self._keys: dict[int, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = selectors.SelectorKey(fileobj, _fd(fileobj), events, data)
        self._keys[key.fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._keys.pop(_fd(fileobj))

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise SimulationDeadlock("every task is waiting and no timer is due")
        self._loop.advance(timeout)
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return _Keys(self._keys)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose clock moves only when the loop would otherwise wait."""

    def __init__(self) -> None:
        self._virtual_now = 0.0
        super().__init__(selector=_VirtualSelector(self))

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._virtual_now += seconds


class LoopClock:
    """pospay's `Clock` read off the virtual loop: wall time is `EPOCH` plus loop time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, epoch: datetime = EPOCH) -> None:
        self._loop = loop
        self._epoch = epoch

    def now(self) -> datetime:
        return self._epoch + timedelta(seconds=self._loop.time())

    def monotonic(self) -> float:
        return self._loop.time()


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a fresh `VirtualTimeLoop`, then close the loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
