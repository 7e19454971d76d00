"""Waiting for the character's bot-ready in each room: whether it came, the deadline for it,
and how long it took since the session started connecting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from convai_tui.core.rtvi.handshake import Handshake


class BotReadiness:
    """`on_timeout` runs when a joined room's character stays silent for `timeout_s`; the
    `handshake` (client-ready, handshake.py) runs from joining until ready or the room is left."""

    def __init__(
        self, timeout_s: float, on_timeout: Callable[[], None], handshake: Handshake | None = None
    ) -> None:
        self._handshake = handshake
        self._timeout_s = timeout_s
        self._on_timeout = on_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._connect_started: float | None = None
        self.ready = False
        self.since_connect_ms: float | None = None
        """From the start of connecting to the latest bot-ready."""

    def is_ready(self) -> bool:
        return self.ready

    def connecting(self) -> None:
        """The session starts connecting: bot-ready times count from now."""
        self._connect_started = time.monotonic()

    def joined(self) -> None:
        """A room was joined: its bot-ready is due within the timeout."""
        self._timer = asyncio.get_running_loop().call_later(self._timeout_s, self._expired)
        if self._handshake is not None:
            self._handshake.start(self.is_ready)

    def mark_ready(self) -> bool:
        """bot-ready arrived; False when it already had (a repeat changes nothing)."""
        if self.ready:
            return False
        self.ready = True
        self._cancel()
        if self._connect_started is not None:
            self.since_connect_ms = (time.monotonic() - self._connect_started) * 1000
        return True

    def reset(self) -> None:
        """The room is left (or a new one is about to be joined): not ready, no deadline."""
        self._cancel()
        self.ready = False
        if self._handshake is not None:
            self._handshake.stop()

    def _expired(self) -> None:
        self._timer = None
        if not self.ready:
            self._on_timeout()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
