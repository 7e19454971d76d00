"""The stand-in's background-task set: tracked until done, failures logged, cancel-all."""

from __future__ import annotations

import asyncio
import logging

import pytest

from convai_tui.runtime.task_set import TaskSet, wait_unless

log = logging.getLogger("test.task_set")


async def test_finished_tasks_leave_the_set() -> None:
    tasks = TaskSet(log, "failed")
    task = tasks.spawn(asyncio.sleep(0))
    assert len(tasks) == 1
    await task
    await asyncio.sleep(0)
    assert len(tasks) == 0


async def test_a_failing_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise ValueError("kaput")

    tasks = TaskSet(log, "bot task failed in room r1")
    with caplog.at_level(logging.ERROR, logger="test.task_set"):
        task = tasks.spawn(boom())
        await asyncio.wait([task])
        await asyncio.sleep(0)
    assert [r.getMessage() for r in caplog.records] == ["bot task failed in room r1"]
    assert caplog.records[0].exc_info is not None
    assert "kaput" in str(caplog.records[0].exc_info[1])


async def test_cancel_all_spares_the_calling_task() -> None:
    tasks = TaskSet(log, "failed")
    sleeper = tasks.spawn(asyncio.sleep(60))

    async def shut_down() -> str:
        await tasks.cancel_all()
        return "finished"

    closer = tasks.spawn(shut_down())
    assert await closer == "finished"
    assert sleeper.cancelled()
    assert len(tasks) == 0


async def test_wait_unless_returns_the_result_or_none_when_interrupted() -> None:
    interrupted = asyncio.Event()
    assert await wait_unless(asyncio.ensure_future(asyncio.sleep(0, "done")), interrupted) == "done"
    slow: asyncio.Future[object] = asyncio.ensure_future(asyncio.sleep(60))
    asyncio.get_running_loop().call_soon(interrupted.set)
    assert await wait_unless(slow, interrupted) is None
    await asyncio.sleep(0)
    assert slow.cancelled()
