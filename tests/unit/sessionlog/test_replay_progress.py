"""The replay's progress line and the session log's first line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from convai_tui.core.api.bus import EventBus
from convai_tui.core.api.events import LogRecorded
from convai_tui.core.api.port import SessionInfo
from convai_tui.sessionlog.replay import load_log
from convai_tui.sessionlog.writer import SessionLog
from convai_tui.ui.model.replay import replay_hint


def test_the_hint_counts_events_then_says_finished() -> None:
    assert replay_hint(lambda: (3, 12, False)) == "Read-only · replaying: 3 of 12 events (25 %)"
    assert "replay finished: 12 events shown" in replay_hint(lambda: (12, 12, True))
    assert "Read-only" in replay_hint(None)


async def test_the_log_starts_with_the_resolved_character_name(tmp_path: Path) -> None:
    bus = EventBus()
    path = tmp_path / "s.jsonl"
    log = SessionLog(path, bus.subscribe(), SessionInfo("char-1", "http://127.0.0.1:1", "Ada"))
    log.start()
    bus.publish(LogRecorded(level="info", category="x", message="hello"))
    await asyncio.sleep(0.05)
    await log.stop()
    first = json.loads(path.read_text().splitlines()[0])
    assert first["type"] == "session_info"
    assert (first["character_id"], first["character_name"]) == ("char-1", "Ada")
    loaded = load_log(path)
    assert loaded.info["character_name"] == "Ada"
    assert loaded.skipped == 0 and len(loaded.events) == 1
