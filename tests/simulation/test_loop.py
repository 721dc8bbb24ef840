"""The virtual-time loop: production awaits run unchanged, the clock jumps instead of waiting."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from pospay.simulation.loop import EPOCH, LoopClock, SimulationDeadlock, run_virtual


def test_an_hour_of_sleep_takes_no_wall_time() -> None:
    async def sleepy() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(3600)
        return loop.time() - start

    wall = time.perf_counter()
    assert run_virtual(sleepy()) == pytest.approx(3600)
    assert time.perf_counter() - wall < 60  # a real hour would never finish


def test_timeouts_fire_on_virtual_time_in_order() -> None:
    async def race() -> list[str]:
        order: list[str] = []

        async def after(seconds: float, name: str) -> None:
            await asyncio.sleep(seconds)
            order.append(name)

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(after(100, "never"), timeout=5)
        await asyncio.gather(after(3, "c"), after(1, "a"), after(2, "b"))
        return order

    assert run_virtual(race()) == ["a", "b", "c"]


def test_the_clock_reads_the_loop() -> None:
    async def read() -> tuple[float, object]:
        clock = LoopClock(asyncio.get_running_loop())
        await asyncio.sleep(90)
        return clock.monotonic(), clock.now()

    monotonic, now = run_virtual(read())
    assert monotonic == pytest.approx(90)
    assert now == EPOCH + timedelta(seconds=monotonic)


def test_a_world_where_everyone_waits_is_a_deadlock() -> None:
    async def stuck() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(SimulationDeadlock):
        run_virtual(stuck())
