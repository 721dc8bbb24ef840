"""The host's card channel in the simulation: the issuer process across a faulty link.

The host calls `authorise`, `reverse` and `query` as on any `CardChannel`. Each call
crosses a link with latency; the fault plan may lose the request (the issuer never
acts), lose the answer (the issuer acted, the host never hears) or delay it. The
issuer works in a task of its own node, so a host that gives up waiting does not
stop the issuer, and an issuer that crashes mid-call never answers. Either way the
host's own `channel_timeout` ends its wait, and its recovery job resolves the rest. The
issuer's own lost answer (`AnswerLost`, the magic amount 666.91) is no failure of its
process: it crosses the wire as what it is, no answer, and the host's timeout ends the
wait as for a dropped one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn, Protocol, TypeVar

from pospay.channels import CardAuthorisation, CardResult
from pospay.errors import AnswerLost
from pospay.issuer import IssuerSimulator
from pospay.simulation.faults import Fault, FaultPlan, Site
from pospay.simulation.network import DELAY, LATENCY
from pospay.simulation.nodes import Node

T = TypeVar("T")


class IssuerProcess(Protocol):
    @property
    def node(self) -> Node: ...

    @property
    def simulator(self) -> IssuerSimulator | None: ...


class SimChannel:
    """A `channels.CardChannel` that reaches the issuer over the simulated wire."""

    def __init__(self, faults: FaultPlan, issuer: IssuerProcess) -> None:
        self._faults = faults
        self._issuer = issuer

    async def authorise(self, request: CardAuthorisation) -> CardResult:
        return await self._call(lambda issuer: issuer.authorise(request))

    async def reverse(self, reference: str) -> CardResult:
        return await self._call(lambda issuer: issuer.reverse(reference))

    async def query(self, reference: str) -> CardResult | None:
        return await self._call(lambda issuer: issuer.query(reference))

    async def _call(self, operation: Callable[[IssuerSimulator], Awaitable[T]]) -> T:
        fault = self._faults.draw(Site.CHANNEL)
        latency = self._faults.uniform(*LATENCY)
        if fault is Fault.CHANNEL_DELAY:
            latency += self._faults.uniform(*DELAY) / 4
        await asyncio.sleep(latency)
        simulator = self._issuer.simulator
        if fault is Fault.CHANNEL_REQUEST_DROP or not self._issuer.node.up or simulator is None:
            await _never()
        answer: asyncio.Future[T | AnswerLost] = asyncio.get_running_loop().create_future()
        work = self._issuer.node.spawn(_awaited(operation(simulator)))
        work.add_done_callback(lambda task: _pass_on(task, answer))
        result = await answer
        await asyncio.sleep(self._faults.uniform(*LATENCY))
        if fault is Fault.CHANNEL_RESPONSE_DROP or isinstance(result, AnswerLost):
            await _never()
        return result


async def _awaited(awaitable: Awaitable[T]) -> T | AnswerLost:
    try:
        return await awaitable
    except AnswerLost as lost:  # the issuer acted and says so: no error of its process
        return lost


async def _never() -> NoReturn:
    """A wait no answer ends: the caller's timeout does."""
    await asyncio.get_running_loop().create_future()
    raise AssertionError("nothing resolves this wait")


def _pass_on(task: asyncio.Task[T], answer: asyncio.Future[T]) -> None:
    if answer.done() or task.cancelled():
        return  # the host stopped waiting, or the issuer died: no answer crosses
    error = task.exception()
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(task.result())
