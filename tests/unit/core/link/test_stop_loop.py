"""Stopping a polling loop even when Python 3.11's asyncio.wait_for swallows the cancel.

Seen in a full run: a headless client never exited. Its link sampler's cancel landed just as
the stats it was waiting for arrived, wait_for returned them instead of raising, the loop
polled on, and leaving the room waited for it forever.
"""

from __future__ import annotations

import asyncio

import pytest

from convai_tui.core.link import stats as link_stats
from convai_tui.core.link.stats import LinkSampler
from convai_tui.runtime.task_set import stop_loop


async def _wait_for_loop(futures: asyncio.Queue[asyncio.Future[int]], rounds: list[int]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        future: asyncio.Future[int] = loop.create_future()
        await futures.put(future)
        rounds.append(await asyncio.wait_for(future, 5))


async def test_a_cancel_swallowed_by_wait_for_still_ends_the_loop() -> None:
    futures: asyncio.Queue[asyncio.Future[int]] = asyncio.Queue()
    rounds: list[int] = []
    task = asyncio.create_task(_wait_for_loop(futures, rounds))
    (await futures.get()).set_result(1)
    task.cancel()  # lands as the awaited value completes: wait_for returns it instead
    await futures.get()
    assert rounds == [1] and not task.done()  # the cancel was lost, the loop went on
    await asyncio.wait_for(stop_loop(task), 2)
    assert task.cancelled()


class _Transport:
    """Stats readings the test completes by hand."""

    def __init__(self) -> None:
        self.readings: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()

    async def get_rtc_stats(self) -> None:
        reading: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self.readings.put(reading)
        return await reading


async def test_the_link_sampler_stops_when_its_cancel_meets_a_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sampler = LinkSampler(lambda event: None, lambda error: error)
    monkeypatch.setattr(link_stats, "SAMPLE_INTERVAL_S", 0.0)  # its history is sized by now
    transport = _Transport()
    sampler.start(transport)
    loop_task = sampler._task
    (await transport.readings.get()).set_result(None)
    await asyncio.sleep(0)  # the reading's coroutine finishes; wait_for has not seen it yet
    async with asyncio.timeout(3) as limit:
        await sampler.stop()  # cancels in this very step
    # Ended by the stop itself, not by the limit cancelling the wait (which cancels the loop).
    assert not limit.expired()
    assert loop_task is not None and loop_task.done()
