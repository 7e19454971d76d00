"""Connect attempts on the retry policy's schedule: the first connect with its retries and the
concurrency waiting room, and the reconnects after a drop (after a stalled link, the first
wait is the stall grace: hold()). Each wait is announced (RetryScheduled) and can be cut short
by the user (retry now)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections.abc import Awaitable, Callable

from convai_tui.core.api.events import Event, RetryScheduled
from convai_tui.core.api.outcomes import Drop, End
from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import ConvaiError, ErrorStage, SessionError
from convai_tui.core.settings.retry import RetryPolicy

Attempt = Callable[[str, int, int | None], Awaitable[None]]
"""One /connect plus room join: (phase, attempt, max_attempts); raises ConvaiError on failure."""


class RetryLoop:
    """Drives `attempt` until it succeeds (None) or the policy gives up (the End to finish with)."""

    def __init__(
        self,
        policy: RetryPolicy,
        attempt: Attempt,
        *,
        publish: Callable[[Event], None],
        raise_error: Callable[[SessionError], SessionError],
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self._policy = policy
        self._attempt = attempt
        self._publish = publish
        self._raise = raise_error
        self._clock = clock
        self._rng = rng
        self._retry_now = asyncio.Event()

    def retry_now(self) -> None:
        """End the current wait at once."""
        self._retry_now.set()

    async def connect(self) -> End | None:
        policy = self._policy
        attempt = 0
        waiting_since: float | None = None
        while True:
            attempt += 1
            phase = "waiting_room" if waiting_since is not None else "connect"
            max_attempts = None if waiting_since is not None else policy.max_connect_attempts
            try:
                await self._attempt(phase, attempt, max_attempts)
                return None
            except ConvaiError as exc:
                error = self._raise(exc.error)
            if not error.recoverable:
                return End(SessionState.ERROR, "connect_failed", error)
            if policy.uses_waiting_room(error.code):
                now = self._clock()
                waiting_since = waiting_since if waiting_since is not None else now
                if (
                    policy.waiting_room_max_wait_s is not None
                    and now - waiting_since >= policy.waiting_room_max_wait_s
                ):
                    return End(SessionState.ERROR, "waiting_room_timeout", error)
                delay = policy.waiting_room_delay(attempt + 1, self._rng)
                phase, max_attempts = "waiting_room", None
            else:
                scheduled = policy.connect_delay(attempt + 1)
                if scheduled is None:
                    return End(SessionState.ERROR, "retries_exhausted", error)
                delay = scheduled
            await self._wait(attempt + 1, max_attempts, delay, phase, error, waiting_since)

    async def hold(self, stall: Drop) -> None:
        """Reconnect attempt 1's wait after a stalled link (the stall grace), announced like any
        other; the caller keeps the room meanwhile and reconnect() then skips this wait."""
        policy = self._policy
        delay = policy.reconnect_delay(1, after_stall=True)
        if delay is not None:
            await self._wait(
                1, policy.max_reconnect_attempts, delay, "reconnect", stall.error, None
            )

    async def reconnect(self, drop: Drop) -> End | None:
        policy = self._policy
        last = drop.error
        attempt = 0
        while True:
            attempt += 1
            delay = policy.reconnect_delay(attempt, after_shutdown=drop.after_shutdown)
            if delay is None:
                break
            if not (attempt == 1 and drop.link_stalled):  # hold() waited for it already
                await self._wait(
                    attempt, policy.max_reconnect_attempts, delay, "reconnect", last, None
                )
            try:
                await self._attempt("reconnect", attempt, policy.max_reconnect_attempts)
                return None
            except ConvaiError as exc:
                last = self._raise(
                    dataclasses.replace(exc.error, stage=ErrorStage.SESSION_RECOVERY)
                )
            if not last.recoverable:
                return End(SessionState.ERROR, "reconnect_failed", last)
        final = dataclasses.replace(
            last,
            message=f"Gave up after {policy.max_reconnect_attempts} reconnect attempts: "
            f"{last.message}",
            stage=ErrorStage.SESSION_RECOVERY,
        )
        return End(SessionState.ERROR, "reconnects_exhausted", final)

    async def _wait(
        self,
        attempt: int,
        max_attempts: int | None,
        delay: float,
        phase: str,
        error: SessionError | None,
        waiting_since: float | None,
    ) -> None:
        now = self._clock()
        self._publish(
            RetryScheduled(
                attempt=attempt,
                max_attempts=max_attempts,
                delay_s=round(delay, 3),
                due_at=now + delay,
                phase=phase,
                error=error,
                waiting_since=waiting_since,
            )
        )
        self._retry_now.clear()
        if delay <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._retry_now.wait()
