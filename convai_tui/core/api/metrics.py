"""Counters and latency figures for the diagnostics panel, the snapshot and the benchmarks.

The counters are folded from the session's events (core/api/counters.py, shared with the monitor
and replay); the latency figures and the received-message count are measured by the core
itself, as no event carries them all.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from convai_tui.core.api.counters import SessionCounters


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class SessionMetrics(SessionCounters):
    """What RoomDiagnosticsSnapshot counts, plus our latency figures."""

    started_at: float | None = None
    connect_ms: float | None = None
    join_ms: float | None = None
    bot_ready_ms: float | None = None
    turn_first_text_ms: list[float] = field(default_factory=list)
    messages_received: int = 0
    rtc: dict[str, float] = field(default_factory=dict)

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        turns = self.turn_first_text_ms
        return {
            **super().snapshot(now),
            "messages_received": self.messages_received,
            "latency": {
                "connect_ms": self.connect_ms,
                "join_ms": self.join_ms,
                "bot_ready_ms": self.bot_ready_ms,
                "last_turn_first_text_ms": turns[-1] if turns else None,
                "turn_first_text_p50_ms": percentile(turns, 50),
                "turn_first_text_p95_ms": percentile(turns, 95),
                "turns": len(turns),
                "turn_first_text_mean_ms": statistics.fmean(turns) if turns else None,
                **{k: v for k, v in self.rtc.items()},
            },
        }
