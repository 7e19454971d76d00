"""Whether the room's link is up: LiveKit's own resume (reconnecting/reconnected) and the link
watchdog, which reports a stall when the link's signals say so, and a recovery when packets
flow again. Either way the session goes Connected → Reconnecting → Connected while keeping the
room.

A frozen or unreachable server goes unnoticed by LiveKit's signal ping for 15 s, so the
watchdog reads WebRTC stats (transport.py `link_signals`). A quiet character is not a dead
link: a character that publishes no track, or mutes it between turns,
leaves the transport packet counter standing still for 10 s and more (measured against the
stand-in with `--no-audio-track`), so it is one signal among others:
- the ICE consent checks of the selected candidate pairs (STUN requests and responses, every
  1-3 s on a live link, media or not) and the transport packets: neither moving for
  `stall_after_s` is a stall;
- the connection, ICE/DTLS or the data channels being down for `stall_after_s` is a stall.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from convai_tui.runtime.task_set import stop_loop

LINK_POLL_S = 1.0
"""How often the link watchdog reads the WebRTC packet counters."""


@dataclass(frozen=True, slots=True)
class LinkSignals:
    packets: int
    """Packets received on the room's transports (any kind)."""
    consent_checks: int
    """STUN requests and responses received on the selected candidate pairs."""
    up: bool
    """Connected, ICE/DTLS not failed or closed, data channels open."""


class LinkWatch:
    """Reports the link lost and back to the session.

    `on_lost(message, reason)` returns whether it took effect (the session was Connected); only
    then is the link considered stalled. After a stall, packets flowing again report the link
    back unless LiveKit's own resume is under way (its reconnected signal settles that case).
    """

    def __init__(
        self,
        stall_after_s: float,
        on_lost: Callable[[str, str], bool],
        on_back: Callable[[str], None],
    ) -> None:
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
        """Watch a newly joined room (if watching is on and the room reports its link)."""
        self.reset()
        signals = getattr(room, "link_signals", None)
        if signals is None:
            packets = getattr(room, "inbound_packets", None)
            if packets is not None:  # a room that only counts packets: treat them as media
                signals = _from_packets(packets)
        if self._stall_after_s and signals is not None:
            self._task = asyncio.create_task(self.run(signals, current), name="convai-link-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await stop_loop(task)

    async def run(
        self, read: Callable[[], Awaitable[LinkSignals | None]], current: Callable[[], bool]
    ) -> None:
        """Watch while `current()` (the room is still the session's); cancelled on leave."""
        last: LinkSignals | None = None
        last_alive = last_up = time.monotonic()
        while current():
            await asyncio.sleep(LINK_POLL_S)
            signals = await read()
            if signals is None or not current():
                continue
            now = time.monotonic()
            moved = last is None or (signals.packets, signals.consent_checks) != (
                last.packets,
                last.consent_checks,
            )
            if moved:
                last_alive = now
            if signals.up:
                last_up = now
            why = None
            if now - last_up >= self._stall_after_s:
                why = "The LiveKit connection (ICE, DTLS or data channel) is down"
            elif now - last_alive >= self._stall_after_s:
                why = f"No packets from the LiveKit server for {now - last_alive:.0f} s"
            if why is None and moved and self.stalled and not self.sdk_reconnecting:
                self.stalled = False
                self._on_back("link_recovered")
            elif why is not None and not self.stalled:
                self.stalled = self._on_lost(
                    f"{why}; waiting for the link to come back.", "link_stalled"
                )
            last = signals


def _from_packets(
    packets: Callable[[], Awaitable[int | None]],
) -> Callable[[], Awaitable[LinkSignals | None]]:
    async def read() -> LinkSignals | None:
        count = await packets()
        return None if count is None else LinkSignals(count, 0, True)

    return read
