"""Counters and latency figures for the diagnostics panel, the snapshot and the benchmarks."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any


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
class SessionMetrics:
    """What RoomDiagnosticsSnapshot counts, plus our latency figures."""

    connect_attempts: int = 0
    successful_connections: int = 0
    failed_connections: int = 0
    reconnects: int = 0
    errors: int = 0
    errors_by_category: dict[str, int] = field(default_factory=dict)
    last_connected_at: float | None = None
    last_error_at: float | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None
    started_at: float | None = None
    connected_since: float | None = None
    connect_ms: float | None = None
    join_ms: float | None = None
    bot_ready_ms: float | None = None
    turn_first_text_ms: list[float] = field(default_factory=list)
    messages_sent: int = 0
    messages_received: int = 0
    rtc: dict[str, float] = field(default_factory=dict)

    def record_error(self, code: str, message: str, at: float) -> None:
        self.errors += 1
        category = code.split(".", 1)[0]
        self.errors_by_category[category] = self.errors_by_category.get(category, 0) + 1
        self.last_error_at = at
        self.last_error_code = code
        self.last_error_message = message

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        turns = self.turn_first_text_ms
        return {
            "connect_attempts": self.connect_attempts,
            "successful_connections": self.successful_connections,
            "failed_connections": self.failed_connections,
            "reconnects": self.reconnects,
            "errors": self.errors,
            "errors_by_category": dict(self.errors_by_category),
            "last_connected_at": self.last_connected_at,
            "last_error_at": self.last_error_at,
            "last_error_code": self.last_error_code,
            "last_error_message": self.last_error_message,
            "uptime_s": (now - self.connected_since) if self.connected_since else 0.0,
            "messages_sent": self.messages_sent,
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
