"""How a character bot's session comes to an end: the idle clock, the closing notices (usage
limit, server error, session-ending; also driven by the admin routes) and the short wait
between a notice and the room's deletion.

Split out of local/character/bot.py: the bot keeps the room, inbox and turns; this decides that
its session is over and asks the session manager to end it (``request_end``).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Protocol

from convai_tui.local.character import rtvi
from convai_tui.local.character.client_messages import ConversationState
from convai_tui.local.faults import Faults
from convai_tui.runtime.task_set import TaskSet

_CLOSE_AFTER_NOTICE_S = 0.5
"""Gap between a closing notice and the room deletion, so the notice reaches the client."""


class EndRequests(Protocol):
    """The part of the session manager an ending talks to (character.py's CharacterEvents)."""

    def request_end(self, room_name: str, reason: str) -> None: ...
    def release_slots(self, room_name: str, reason: str) -> None: ...


class EndingBot(Protocol):
    """What the ending needs from its bot (character.py)."""

    room_name: str
    state: ConversationState
    turns_completed: int

    async def send(self, message: dict[str, Any], to: str | None = None) -> None: ...
    def client_identities(self) -> list[str]: ...


class SessionEnd:
    """The end of one room's session; ``closing`` is set once it is under way."""

    def __init__(
        self, bot: EndingBot, *, faults: Faults, events: EndRequests, tasks: TaskSet
    ) -> None:
        self._bot = bot
        self._faults = faults
        self._events = events
        self._tasks = tasks
        self.closing = False
        self._server_error_sent = False
        # Idle clock (starts when the first client is greeted).
        self._idle_started = False
        self._last_activity = time.monotonic()
        self._idle_warned = False
        self._idle_deadline: float | None = None

    async def after_turn(self) -> None:
        faults = self._faults
        if (
            faults.server_error_after_turns
            and not self._server_error_sent
            and self._bot.turns_completed >= faults.server_error_after_turns
        ):
            self._server_error_sent = True
            await self.send_server_error(
                faults.server_error_fatal, "Simulated server error (local stand-in)"
            )
        if (
            faults.usage_limit_after_turns
            and self._bot.turns_completed >= faults.usage_limit_after_turns
        ):
            await self.send_usage_limit()

    # -- closing notices (also driven by the admin routes) --------------------------------------
    def end_soon(self, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        room_name = self._bot.room_name
        if reason == "kill_pipeline":  # the slot is free at once; the room goes after the ack
            self._events.release_slots(room_name, reason)
            if self._faults.delete_room_on_kill:
                self._events.request_end(room_name, reason)
                return

        async def end_later() -> None:
            await asyncio.sleep(_CLOSE_AFTER_NOTICE_S)
            # After kill-pipeline the client leaves by itself: deleting the room under a client
            # that is still leaving has hung that client's LiveKit disconnect.
            waited = 0.0
            while reason == "kill_pipeline" and self._bot.client_identities() and waited < 10.0:
                await asyncio.sleep(0.1)
                waited += 0.1
            self._events.request_end(room_name, reason)

        self._tasks.spawn(end_later())

    async def send_server_error(self, fatal: bool, error: str) -> None:
        await self._bot.send(rtvi.form_a("error", {"error": error, "fatal": fatal}))
        if fatal:
            self.end_soon("fatal_error")

    async def send_usage_limit(self) -> None:
        self._bot.state.usage_limit_hit = True
        quota_type = self._faults.quota_type
        await self._bot.send(
            rtvi.form_b(
                "usage-limit-reached",
                quota_type=quota_type,
                message=f"Usage limit reached ({quota_type}). The session will now close.",
            )
        )
        self.end_soon("usage_limit")

    async def send_session_ending(self, reason: str, *, close: bool = True) -> None:
        await self._bot.send(rtvi.form_b("session-ending", reason=reason))
        if close:
            self.end_soon(reason)

    # -- idle ---------------------------------------------------------------------------------
    def touch(self) -> None:
        self._last_activity = time.monotonic()
        self._idle_warned = False
        self._idle_deadline = None

    def start_idle_clock(self) -> None:
        """The first client was greeted: from now on, silence counts."""
        if not self._idle_started:
            self._idle_started = True
            self.touch()

    async def start_idle_countdown(self, remaining_seconds: float) -> None:
        """Warn now and close after ``remaining_seconds`` unless the client becomes active."""
        self._idle_started = True
        self._idle_deadline = time.monotonic() + remaining_seconds
        self._idle_warned = True
        await self._send_idle_warning(remaining_seconds)

    async def _send_idle_warning(self, remaining: float) -> None:
        seconds = max(0, math.ceil(remaining))
        await self._bot.send(
            rtvi.form_b(
                "user-idle-warning",
                remaining_seconds=seconds,
                message=f"You've been idle. You will be disconnected in {seconds} seconds.",
            )
        )

    async def idle_loop(self) -> None:
        while not self.closing:
            await asyncio.sleep(0.1)
            if not self._idle_started or self.closing:
                continue
            now = time.monotonic()
            deadline = self._idle_deadline
            if deadline is None:
                deadline = self._last_activity + self._faults.idle_timeout_after_s
            warn_at = self._last_activity + self._faults.idle_warning_after_s
            if not self._idle_warned and warn_at <= now < deadline:
                self._idle_warned = True
                await self._send_idle_warning(deadline - now)
            if now >= deadline:
                await self.send_session_ending("idle_timeout")
                return
