"""The headless front end: one JSON object per line on stdout, nothing else.

Exit status: 0 when the session ends cleanly (including --duration, --exit-after-reply and a
Ctrl-C), 1 when it ends in Error (configuration errors included).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from typing import TextIO

from convai_tui.core.events import (
    BotReady,
    Event,
    LlmNoResponse,
    SessionEnded,
    TurnCompleted,
)
from convai_tui.core.port import SessionPort
from convai_tui.core.redact import redact
from convai_tui.core.states import SessionState


class HeadlessRunner:
    """Drives a session from flags: --say messages, --exit-after-reply, --duration."""

    def __init__(
        self,
        session: SessionPort,
        *,
        say: list[str] | None = None,
        exit_after_reply: bool = False,
        duration_s: float | None = None,
        out: TextIO | None = None,
    ) -> None:
        self._session = session
        self._say = list(say or [])
        self._next_say = 0
        self._awaiting_reply = False
        self._exit_after_reply = exit_after_reply
        self._duration_s = duration_s
        self._out = out or sys.stdout
        self._ending = False
        self._end_task: asyncio.Task[None] | None = None

    def _emit(self, event: Event) -> None:
        line = json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":"))
        self._out.write(redact(line) + "\n")
        self._out.flush()

    async def run(self) -> int:
        subscription = self._session.subscribe()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._end_soon, "interrupted")
                installed.append(sig)
        timer = (loop.call_later(self._duration_s, self._end_soon, "duration")
                 if self._duration_s else None)
        try:
            await self._session.start()
            async for event in subscription:
                self._emit(event)
                if isinstance(event, SessionEnded):
                    break
                await self._react(event)
        finally:
            subscription.close()
            if timer is not None:
                timer.cancel()
            for sig in installed:
                loop.remove_signal_handler(sig)
        return 1 if self._session.state is SessionState.ERROR else 0

    async def _react(self, event: Event) -> None:
        if isinstance(event, BotReady):
            if self._next_say < len(self._say) and not self._awaiting_reply:
                await self._send_next()
        elif isinstance(event, TurnCompleted | LlmNoResponse):
            self._awaiting_reply = False
            if self._next_say < len(self._say):
                await self._send_next()
            elif self._exit_after_reply:
                self._end_soon("exit_after_reply")

    async def _send_next(self) -> None:
        text = self._say[self._next_say]
        self._next_say += 1
        outcome = await self._session.send_text(text)
        self._awaiting_reply = outcome.status in ("sent", "queued")
        if not self._awaiting_reply and self._next_say >= len(self._say) and self._exit_after_reply:
            self._end_soon("exit_after_reply")

    def _end_soon(self, reason: str) -> None:
        if not self._ending:
            self._ending = True
            self._end_task = asyncio.ensure_future(self._session.disconnect(reason))
