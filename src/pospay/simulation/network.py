"""The terminal–host link of the simulation: real ISO 8583 bytes over a faulty wire.

Each terminal holds a `SimHostLink` (the engine's `HostLink` seam). A request is
encoded with the production codec, crosses the wire with a small latency, and is
handed as received (`Received`: its bytes, decoded) to the host process's
`HostService.answer` in a task of the host node; the answer comes back the same way
and is matched by STAN, as over TCP. On the way the
fault plan may drop, duplicate, delay or hold back (reorder) a message, or cut one
direction between a terminal and the host for a while (a partition). A host that is
down refuses the connection: the terminal gets `LinkError`, certainly not sent.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from pospay.errors import LinkError, MessageFormatError, OutcomeUnknown
from pospay.host.service import HostService
from pospay.iso8583 import Message, Received, decode, encode
from pospay.simulation.faults import Fault, FaultPlan, Site
from pospay.simulation.nodes import Node

LATENCY = (0.002, 0.030)  # seconds one way, uniform
DELAY = (2.0, 40.0)  # a delayed message: often longer than the terminal's timeout
HOLD = (1.0, 30.0)  # a message held back for reordering, when nothing overtakes it
PARTITION = (5.0, 60.0)  # how long one direction stays cut


class HostProcess(Protocol):
    """The host as the wire sees it: its node, and its service while it runs."""

    @property
    def node(self) -> Node: ...

    @property
    def service(self) -> HostService | None: ...


class Network:
    def __init__(self, faults: FaultPlan, host: HostProcess) -> None:
        self._faults = faults
        self._host = host
        self._cut_until: dict[tuple[str, Site], float] = {}
        self._held: dict[str, bytes] = {}
        self.lost_to_partitions = 0
        self.refused = 0
        # Responses that came when no exchange waited for them (late or duplicated).
        self.responses_discarded = 0

    def link(self, terminal_id: str) -> SimHostLink:
        return SimHostLink(self, terminal_id)

    def accepting(self) -> bool:
        return self._host.node.up and self._host.service is not None

    # --- terminal -> host ---------------------------------------------------------

    def send_request(self, link: SimHostLink, data: bytes) -> None:
        loop, terminal_id = asyncio.get_running_loop(), link.terminal_id
        if self._cut(terminal_id, Site.REQUEST):
            return
        fault = self._faults.draw(Site.REQUEST)
        delay = self._faults.uniform(*LATENCY)
        if fault is Fault.REQUEST_DROP:
            return
        if fault is Fault.REQUEST_PARTITION:
            self._cut_until[(terminal_id, Site.REQUEST)] = loop.time() + self._faults.uniform(
                *PARTITION
            )
            self.lost_to_partitions += 1
            return
        if fault is Fault.REQUEST_REORDER and terminal_id not in self._held:
            # Held back until the terminal's next request overtakes it, or a while.
            self._held[terminal_id] = data
            loop.call_later(self._faults.uniform(*HOLD), self._release, link, data)
            return
        if fault is Fault.REQUEST_DELAY:
            delay += self._faults.uniform(*DELAY)
        loop.call_later(delay, self._arrive, link, data)
        if fault is Fault.REQUEST_DUPLICATE:
            loop.call_later(delay + self._faults.uniform(*LATENCY), self._arrive, link, data)
        overtaken = self._held.pop(terminal_id, None)
        if overtaken is not None:
            loop.call_later(delay + LATENCY[1], self._arrive, link, overtaken)

    def _release(self, link: SimHostLink, data: bytes) -> None:
        if self._held.get(link.terminal_id) is data:
            del self._held[link.terminal_id]
            self._arrive(link, data)

    def _arrive(self, link: SimHostLink, data: bytes) -> None:
        service = self._host.service
        if not self._host.node.up or service is None:
            self.refused += 1  # the process is gone; its socket with it
            return
        self._host.node.spawn(self._serve(service, link, data))

    async def _serve(self, service: HostService, link: SimHostLink, data: bytes) -> None:
        try:
            request = Received.from_wire(data)
        except MessageFormatError:
            return
        response = await service.answer(request)
        if response is not None:
            self._send_response(link, encode(response))

    # --- host -> terminal ---------------------------------------------------------

    def _send_response(self, link: SimHostLink, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        if self._cut(link.terminal_id, Site.RESPONSE):
            return
        fault = self._faults.draw(Site.RESPONSE)
        delay = self._faults.uniform(*LATENCY)
        if fault is Fault.RESPONSE_DROP:
            return
        if fault is Fault.RESPONSE_PARTITION:
            self._cut_until[(link.terminal_id, Site.RESPONSE)] = loop.time() + self._faults.uniform(
                *PARTITION
            )
            self.lost_to_partitions += 1
            return
        if fault is Fault.RESPONSE_DELAY:
            delay += self._faults.uniform(*DELAY)
        loop.call_later(delay, link.deliver, data)
        if fault is Fault.RESPONSE_DUPLICATE:
            loop.call_later(delay + self._faults.uniform(*LATENCY), link.deliver, data)

    def _cut(self, terminal_id: str, direction: Site) -> bool:
        until = self._cut_until.get((terminal_id, direction))
        if until is None:
            return False
        if asyncio.get_running_loop().time() < until and self._faults.enabled:
            self.lost_to_partitions += 1
            return True
        del self._cut_until[(terminal_id, direction)]
        return False


class SimHostLink:
    """A terminal's end of the simulated wire (`terminal.link.HostLink`)."""

    def __init__(self, network: Network, terminal_id: str) -> None:
        self._network = network
        self.terminal_id = terminal_id
        self._waiting: dict[str, asyncio.Future[Message]] = {}

    async def exchange(self, request: Message, *, timeout: float) -> Message:
        data = encode(request)
        if not self._network.accepting():
            raise LinkError("cannot reach host: connection refused")
        stan = request.get("11", "")
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting[stan] = waiter
        self._network.send_request(self, data)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise OutcomeUnknown(f"no response within {timeout:g} s") from None
        finally:
            if self._waiting.get(stan) is waiter:
                del self._waiting[stan]

    def deliver(self, data: bytes) -> None:
        """A response arrives: it goes to the exchange waiting for its STAN, if any."""
        try:
            response = decode(data)
        except MessageFormatError:
            self._network.responses_discarded += 1
            return
        waiter = self._waiting.get(response.get("11", ""))
        if waiter is None or waiter.done() or response.get("41") != self.terminal_id:
            self._network.responses_discarded += 1  # late or duplicated: nobody waits
            return
        waiter.set_result(response)

    async def close(self) -> None:
        return None
