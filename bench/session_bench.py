"""connect_to_ready_ms and text_turn_ms, measured in-process on the real SessionCore."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import percentiles
from convai_tui.core.api.events import BotReady, TranscriptReceived
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings


async def _wait_for(sub: Any, predicate: Any, wait_s: float) -> Any:
    async with asyncio.timeout(wait_s):
        async for event in sub:
            if predicate(event):
                return event
    raise RuntimeError("event stream closed")


async def _runs(details: dict[str, str], runs: int) -> dict[str, Any]:
    ready: list[float] = []
    turns: list[float] = []
    for i in range(runs):
        session = SessionCore(SessionSettings(connect_url=details["connect_url"],
                                              api_key=details["api_key"],
                                              character_id=details["character_id"]))
        sub = session.subscribe()
        t0 = time.perf_counter()
        await session.start()
        await _wait_for(sub, lambda e: isinstance(e, BotReady), 30)
        ready.append((time.perf_counter() - t0) * 1000)
        t1 = time.perf_counter()
        await session.send_text(f"ping {i}")
        await _wait_for(sub, lambda e: isinstance(e, TranscriptReceived)
                        and e.role == "character", 30)
        turns.append((time.perf_counter() - t1) * 1000)
        await session.disconnect()
        await session.close()
        sub.close()
    return {"connect_to_ready_ms": {**percentiles(ready), "runs": runs,
                                    "all": [round(v, 1) for v in ready]},
            "text_turn_ms": {**percentiles(turns), "runs": runs}}


def run(details: dict[str, str], runs: int) -> dict[str, Any]:
    return asyncio.run(_runs(details, runs))
