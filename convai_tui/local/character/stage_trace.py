"""The time one stand-in turn really spent in each stage, and the debug messages that report it:
`turn-trace` (wrapped in server-message, the shape of docs/latency.md §1) and RTVI `metrics`
(`ttfb` per processor, in seconds). Both are built from the clock, never from the configured
delays, so a client's attribution can be checked against what actually happened.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from convai_tui.local.character import rtvi

_PROCESSORS = {
    "asr": "StandInSTTService#0",
    "llm": "StandInLLMService#0",
    "tts": "StandInTTSService#0",
}


class StageTrace:
    """Stage spans and named events of one turn, on the monotonic clock from the turn's start."""

    def __init__(self, turn_id: str) -> None:
        self.turn_id = turn_id
        self._start = time.monotonic()
        self._start_epoch_ms = time.time() * 1000
        self.segments_ms: dict[str, float] = {}
        self.events_s: dict[str, float] = {}
        self._open: dict[str, float] = {}

    def event(self, name: str) -> None:
        self.events_s.setdefault(name, time.monotonic() - self._start)

    def begin(self, stage: str) -> None:
        self._open[stage] = time.monotonic()

    def end(self, stage: str) -> None:
        began = self._open.pop(stage, None)
        if began is not None:
            self.segments_ms[stage] = round((time.monotonic() - began) * 1000, 1)

    async def spend(self, delay_ms: float) -> None:
        """The configured work of a stage (the caller brackets it with begin/end)."""
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)

    def turn_trace(self, canceled: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "turn_id": self.turn_id,
            "segments_ms": dict(self.segments_ms),
            "events": {k: round(v * 1_000_000) for k, v in self.events_s.items()},
            "event_timestamps_ms": {
                k: round(self._start_epoch_ms + v * 1000) for k, v in self.events_s.items()
            },
            "was_canceled": canceled,
        }
        if "bot_started_speaking" in self.events_s:
            fields["e2e_ms"] = round(self.events_s["bot_started_speaking"] * 1000, 1)
        if self.segments_ms:
            critical = max(self.segments_ms, key=lambda k: self.segments_ms[k])
            fields["critical_stage"] = critical
            fields["critical_stage_ms"] = self.segments_ms[critical]
        return rtvi.form_b("turn-trace", **fields)

    def metrics(self, *stages: str) -> dict[str, Any] | None:
        ttfb = [
            {
                "processor": _PROCESSORS[stage],
                "model": "stand-in",
                "value": round(self.segments_ms[stage] / 1000, 4),
            }
            for stage in stages
            if stage in self.segments_ms
        ]
        return rtvi.form_a("metrics", {"ttfb": ttfb}) if ttfb else None
