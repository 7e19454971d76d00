"""Backoff schedules: connect retries, reconnects after a drop, and the concurrency waiting room."""

from __future__ import annotations

import random
from dataclasses import dataclass

CONCURRENCY_CODE = "connection.connect_concurrency_limit_reached"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Delays in seconds. `connect_delays_s[i]` is the wait before attempt i+1 (Unity: 0, 1, 2, 4).

    Reconnects follow the web SDK's example (500 ms × 2^(i−1)); a server shutdown waits 5 s
    first, a stalled link the stall grace. The waiting room keeps polling past the connect attempts with a capped, jittered
    backoff so that many clients waiting for the same key do not retry in lock-step.
    """

    connect_delays_s: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0)
    reconnect_delays_s: tuple[float, ...] = (0.5, 1.0, 2.0)
    max_reconnect_attempts: int = 3
    server_shutdown_delay_s: float = 5.0
    stall_grace_s: float = 12.0
    """After the link stalls, how long the room is kept (the wait before reconnect attempt 1)
    in case the link or LiveKit's own resume brings it back: a freeze of ~12 s comes back in
    place, a frozen server ends in Error after the attempts."""
    reconnect_attempt_s: float = 10.0
    """A reconnect attempt (/connect, then the room join) goes to a server that was working a
    moment ago; one taking longer than this (or the connection timeout, if shorter) is the
    same outage, so a frozen server ends the reconnects within about a minute."""
    waiting_room: bool = True
    waiting_room_base_s: float = 4.0
    waiting_room_cap_s: float = 10.0
    waiting_room_jitter: float = 0.3
    waiting_room_max_wait_s: float | None = None

    @property
    def max_connect_attempts(self) -> int:
        return len(self.connect_delays_s)

    def connect_delay(self, next_attempt: int) -> float | None:
        """Wait before connect attempt `next_attempt` (1-based); None once attempts are used up."""
        if 1 <= next_attempt <= len(self.connect_delays_s):
            return self.connect_delays_s[next_attempt - 1]
        return None

    def waiting_room_delay(self, next_attempt: int, rng: random.Random) -> float:
        """Jittered wait before waiting-room attempt `next_attempt`, never above the cap."""
        scheduled = self.connect_delay(next_attempt)
        if scheduled is None:
            extra = next_attempt - len(self.connect_delays_s)
            scheduled = min(self.waiting_room_cap_s, self.waiting_room_base_s * 1.5**extra)
        low = scheduled * (1 - self.waiting_room_jitter)
        high = min(self.waiting_room_cap_s, scheduled * (1 + self.waiting_room_jitter))
        return rng.uniform(low, max(low, high))

    def reconnect_delay(
        self, attempt: int, *, after_shutdown: bool = False, after_stall: bool = False
    ) -> float | None:
        """Wait before reconnect attempt `attempt` (1-based); None once attempts are used up."""
        if attempt < 1 or attempt > self.max_reconnect_attempts:
            return None
        if attempt == 1 and after_stall:
            return self.stall_grace_s
        if attempt == 1 and after_shutdown:
            return self.server_shutdown_delay_s
        index = min(attempt - 1, len(self.reconnect_delays_s) - 1)
        return self.reconnect_delays_s[index]

    def attempt_bound(self, phase: str, connection_timeout_s: float) -> float | None:
        """How long one attempt of `phase` may take in all; None: each step has its own timeout."""
        if phase != "reconnect":
            return None
        return min(self.reconnect_attempt_s, connection_timeout_s)

    def uses_waiting_room(self, code: str) -> bool:
        return self.waiting_room and code == CONCURRENCY_CODE
