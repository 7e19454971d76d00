"""Whether the room's link is up: LiveKit's own resume (reconnecting/reconnected) and the link
watchdog, which reports a stall when no packet at all arrives for a while, and a recovery when
packets flow again. Either way the session goes Connected → Reconnecting → Connected while
keeping the room.

A frozen or unreachable server goes unnoticed by LiveKit's signal ping for 15 s; a healthy link
carries STUN, RTCP and SCTP packets several times a second even when nobody speaks, so the
WebRTC inbound packet counter standing still is the earlier sign.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

LINK_POLL_S = 1.0
"""How often the link watchdog reads the WebRTC packet counters."""


class LinkWatch:
    """Reports the link lost and back to the session.

    `on_lost(message, reason)` returns whether it took effect (the session was Connected); only
    then is the link considered stalled. After a stall, packets flowing again report the link
    back unless LiveKit's own resume is under way (its reconnected signal settles that case).
    """

    def __init__(self, stall_after_s: float, on_lost: Callable[[str, str], bool],
                 on_back: Callable[[str], None]) -> None:
        self._stall_after_s = stall_after_s
        self._on_lost = on_lost
        self._on_back = on_back
        self.stalled = False
        self.sdk_reconnecting = False
        self._task: asyncio.Task[None] | None = None

    def reset(self) -> None:
        """A new room (or LiveKit's resume finished): no stall, no resume under way."""
        self.stalled = self.sdk_reconnecting = False

    def resuming(self) -> None:
        """LiveKit lost the signal connection and is resuming the room."""
        self.sdk_reconnecting = True
        self._on_lost("The LiveKit connection dropped; resuming.", "resume")

    def resumed(self) -> None:
        """LiveKit resumed the room."""
        self.reset()
        self._on_back("resumed")

    def start(self, room: Any, current: Callable[[], bool]) -> None:
        """Watch a newly joined room (if watching is on and the room counts packets)."""
        self.reset()
        packets = getattr(room, "inbound_packets", None)
        if self._stall_after_s and packets is not None:
            self._task = asyncio.create_task(self.run(packets, current),
                                             name="convai-link-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def run(self, packets: Callable[[], Awaitable[int | None]],
                  current: Callable[[], bool]) -> None:
        """Watch while `current()` (the room is still the session's); cancelled on leave."""
        last_count: int | None = None
        last_change = time.monotonic()
        while current():
            await asyncio.sleep(LINK_POLL_S)
            count = await packets()
            if count is None or not current():
                continue
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
                if self.stalled and not self.sdk_reconnecting:
                    self.stalled = False
                    self._on_back("link_recovered")
            elif not self.stalled and now - last_change >= self._stall_after_s:
                self.stalled = self._on_lost(
                    f"No packets from the LiveKit server for {now - last_change:.0f} s; "
                    "waiting for the link to come back.", "link_stalled")
