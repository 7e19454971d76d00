"""The session log buffers a burst of events and flushes it within the flush window."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from convai_tui.core.api.bus import EventBus
from convai_tui.core.api.events import LogRecorded
from convai_tui.sessionlog.writer import FLUSH_EVERY_S, SessionLog


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_burst_is_flushed_once_within_the_window_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    bus = EventBus()
    path = tmp_path / "s.jsonl"
    log = SessionLog(path, bus.subscribe())
    log.start()
    for n in range(50):
        bus.publish(LogRecorded(level="info", category="x", message=f"line {n}"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert 1 <= len(_lines(path)) < 50  # the first line at once, the rest still buffered
    await asyncio.sleep(FLUSH_EVERY_S * 3)
    assert len(_lines(path)) == 50  # flushed by the timer, with no later event and no stop
    bus.publish(LogRecorded(level="info", category="x", message="last"))
    await log.stop()
    lines = _lines(path)
    assert [line["message"] for line in lines] == [f"line {n}" for n in range(50)] + ["last"]
