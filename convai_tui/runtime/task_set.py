"""Background tasks an owner starts and must be able to stop all at once.

The session core, the stand-in's bots and its session manager fire off work (sends, turns,
timers, room watchers) that nobody awaits individually. The set keeps a strong reference to each task (asyncio only keeps weak ones), logs
a task that fails instead of letting the failure vanish, and cancels whatever is still running
when its owner shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

_T = TypeVar("_T")
_RECANCEL_S = 0.2


class TaskSet:
    """Fire-and-forget tasks with one owner; ``failure_message`` is logged when one fails."""

    def __init__(self, logger: logging.Logger, failure_message: str) -> None:
        self._log = logger
        self._failure_message = failure_message
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run ``coroutine`` in the background and track it until it finishes."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("%s", self._failure_message, exc_info=task.exception())

    async def cancel_all(self) -> None:
        """Cancel every tracked task and wait for each to finish.

        The task calling this (often one of the set, e.g. a bot ending its own session) is
        left alone: cancelling it would abort the shutdown half-way."""
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def stop_loop(task: asyncio.Future[Any]) -> None:
    """Cancel a polling loop that needs no clean-up, and wait until it has ended.

    Cancels again while it runs on: Python 3.11's ``asyncio.wait_for`` (here, or inside a
    library) drops a cancel that lands just as the awaitable inside it completes, and the loop
    would then poll on while its owner waits for it forever (seen: a headless client that never
    exited after leaving its room)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=_RECANCEL_S)
    if not task.cancelled():
        task.exception()  # retrieved: a failure while stopping is not worth a warning


async def wait_unless(task: asyncio.Future[_T], interrupted: asyncio.Event) -> _T | None:
    """The task's result, or None (task cancelled) if ``interrupted`` is set first."""
    waiter = asyncio.ensure_future(interrupted.wait())
    try:
        pending: set[asyncio.Future[Any]] = {task, waiter}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
    if not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()
