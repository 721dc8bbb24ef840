"""Simulated processes: what runs on a node, and what a crash takes with it.

Every task of a node is started through `Node.spawn`, and every task those tasks
create (`asyncio.create_task`, `wait_for`, `gather`, a background job) belongs to the
node too: `install` puts a task factory on the loop that adopts a new task into the
node of the task creating it. A crash (drawn by the node's
`SimulatedDisk` around a commit) raises `NodeCrashed` in the task that was
committing, cancels every other task of the node, drops whatever the node held in
memory, and brings the node back after a while through its `boot` routine — which
builds the process anew from its database, as a restarted process would.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar, cast

from pospay.simulation.faults import Fault

T = TypeVar("T")

Boot = Callable[[], Awaitable[None]]
OnError = Callable[[str, BaseException], None]

# The node whose process runs the current task, if any.
_NODE: contextvars.ContextVar[Node | None] = contextvars.ContextVar("pospay_sim_node", default=None)


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Make every task created inside a node's task a task of that node."""

    def factory(
        loop: asyncio.AbstractEventLoop,
        coroutine: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[Any]:
        node = (context or contextvars.copy_context()).get(_NODE)
        if node is None:
            return asyncio.Task(coroutine, loop=loop, context=context)
        guarded = node._guarded(cast(Coroutine[Any, Any, Any], coroutine))  # tasks run coroutines
        task = asyncio.Task(guarded, loop=loop, context=context)
        node._adopt(task)
        return task

    loop.set_task_factory(factory)


class NodeCrashed(BaseException):
    """The process died: raised in the task that was running when it did.

    A BaseException, like `asyncio.CancelledError`, so that no `except Exception` of
    the code under test can swallow the death of its own process.
    """


class Node:
    """One simulated process (a terminal, the host, the issuer)."""

    def __init__(self, name: str, *, restart_after: Callable[[], float], on_error: OnError) -> None:
        self.name = name
        self.up = False
        self.crashes = 0
        self._restart_after = restart_after
        # Told of every exception a task of the node ends with: each one is a bug.
        self._on_error = on_error
        self._boot: Boot | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, boot: Boot) -> None:
        """Boot the node now (and again after every crash) with `boot`."""
        self._boot = boot
        self._launch()

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `coroutine` as a task of this node: a crash of the node cancels it."""
        context = contextvars.copy_context()
        context.run(_NODE.set, self)
        loop = asyncio.get_running_loop()
        task = asyncio.Task(self._guarded(coroutine), loop=loop, context=context)
        self._adopt(task)
        return task

    def _adopt(self, task: asyncio.Task[Any]) -> None:
        if task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def crash(self, fault: Fault) -> NodeCrashed:
        """Kill the node: every other task of it is cancelled now, and it boots again
        after a pause. Returns the exception the calling task must raise."""
        self.up = False
        self.crashes += 1
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._tasks.clear()
        asyncio.get_running_loop().call_later(self._restart_after(), self._launch)
        return NodeCrashed(f"{self.name}: {fault.value}")

    async def stop(self) -> None:
        """End the process for good (the run is over): its tasks are cancelled."""
        self.up = False
        self._boot = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _launch(self) -> None:
        if self._boot is None:
            return  # stopped for good while down
        self.spawn(self._booting(self._boot))

    async def _booting(self, boot: Boot) -> None:
        await boot()

    async def _guarded(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """A node's task: its process dying ends it as cancelled, like any killed task;
        an exception is reported, then passed to whoever awaits the task."""
        try:
            return await coroutine
        except NodeCrashed as crash:
            raise asyncio.CancelledError(str(crash)) from None
        except Exception as error:
            self._on_error(self.name, error)
            raise
