"""Replaying a session's JSONL event log: a read-only SessionPort that publishes the recorded
events again, at their original pace divided by `speed` (0 = as fast as possible)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convai_tui.core.api.bus import EventBus, Subscription
from convai_tui.core.api.codec import event_from_json
from convai_tui.core.api.counters import SessionCounters
from convai_tui.core.api.events import (
    Event,
    LinkStatsSampled,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    RoomDetailsReceived,
    RoomJoined,
    SessionStateChanged,
)
from convai_tui.core.api.port import ControlResult, SendOutcome, SessionInfo
from convai_tui.core.api.states import SessionState
from convai_tui.core.link.stats import LinkHistory
from convai_tui.core.multi import events as _room_events  # noqa: F401  (registers them)
from convai_tui.sessionlog.writer import SESSION_INFO_TYPE

READ_ONLY_REASON = "This is a replay of a recorded session: nothing can be sent."


@dataclass
class ReplayLog:
    """The events of one log file, with what could not be read counted, not fatal."""

    path: Path
    events: list[Event] = field(default_factory=list)
    unknown_types: int = 0
    malformed_lines: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    """The log's session_info line (character id and resolved name), when it has one."""

    @property
    def skipped(self) -> int:
        return self.unknown_types + self.malformed_lines

    def summary(self) -> str:
        text = f"{len(self.events)} events"
        if self.unknown_types:
            text += f", {self.unknown_types} of unknown types skipped"
        if self.malformed_lines:
            text += f", {self.malformed_lines} unreadable lines skipped"
        return text


def load_log(path: Path) -> ReplayLog:
    """Read a session log (as written by sessionlog.SessionLog or `run --headless`)."""
    log = ReplayLog(path)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                if data.get("type") == SESSION_INFO_TYPE:
                    log.info = data
                    continue
                event = event_from_json(data)
            except ValueError:
                log.malformed_lines += 1
                continue
            if event is None:
                log.unknown_types += 1
            else:
                log.events.append(event)
    return log


class _Diagnostics:
    """diagnostics() rebuilt from the replayed events: the counters by the core's own fold
    (so they match what the live session showed), plus the room, latency and participants."""

    def __init__(self) -> None:
        self.counters = SessionCounters()
        self.state = SessionState.DISCONNECTED
        self.latency: dict[str, Any] = {}
        self.room: dict[str, Any] = {}
        self._participants: dict[str, dict[str, Any]] = {}
        self.link = LinkHistory()

    def apply(self, event: Event) -> None:
        self.counters.apply(event)
        if isinstance(event, SessionStateChanged):
            self.state = event.new
        elif isinstance(event, RoomDetailsReceived):
            self.room = {
                "room_url": event.room_url,
                "room_name": event.room_name,
                "session_id": event.session_id,
                "character_session_id": event.character_session_id,
                "request_trace_id": event.request_trace_id,
            }
            self.latency["connect_ms"] = event.connect_ms
        elif isinstance(event, RoomJoined):
            self.latency["join_ms"] = event.join_ms
            self.room["local_identity"] = event.local_identity
        elif isinstance(event, ParticipantJoined | ParticipantUpdated):
            self._participants[event.identity] = {
                "identity": event.identity,
                "name": event.name,
                "kind": event.kind,
            }
        elif isinstance(event, ParticipantLeft):
            self._participants.pop(event.identity, None)
        elif isinstance(event, LinkStatsSampled):
            self.link.add(event)

    def snapshot(self, now: float) -> dict[str, Any]:
        out = {
            "state": self.state.value,
            **self.counters.snapshot(now),
            "latency": dict(self.latency),
            "room": dict(self.room),
            "participants": list(self._participants.values()),
        }
        if self.link.samples_seen:
            out["link"] = self.link.summary()
        return out


class ReplaySession:
    """Implements SessionPort over a recorded log. Playback begins with the first subscriber
    (the TUI in read-only mode never calls start()), or with start()."""

    def __init__(
        self,
        log: ReplayLog,
        *,
        speed: float = 1.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or positive")
        self.log = log
        self.speed = speed
        self._sleep = sleep
        self._monotonic = monotonic
        self._bus = EventBus()
        self._state = SessionState.DISCONNECTED
        self._diagnostics = _Diagnostics()
        self._player: asyncio.Task[None] | None = None
        self._started_at: float | None = None
        self._last_at: float | None = None
        self.published = 0
        self._closed = False
        self.finished = asyncio.Event()
        self._info = self._find_info()

    @classmethod
    def from_file(cls, path: Path, *, speed: float = 1.0) -> ReplaySession:
        return cls(load_log(path), speed=speed)

    def _find_info(self) -> SessionInfo:
        character = next(
            (
                e
                for e in self.log.events
                if isinstance(e, ParticipantJoined) and e.kind == "character"
            ),
            None,
        )
        room = next((e for e in self.log.events if isinstance(e, RoomDetailsReceived)), None)
        recorded = self.log.info
        name = recorded.get("character_name")
        # Logs without a session_info line: the character participant's identity is the
        # character id in Convai's rooms.
        return SessionInfo(
            character_id=str(
                recorded.get("character_id") or (character.identity if character else "replay")
            ),
            connect_url=room.room_url if room else f"replay:{self.log.path.name}",
            character_name=name if isinstance(name, str) and name else None,
        )

    def progress(self) -> tuple[int, int, bool]:
        """Events shown so far, events in the log, and whether the replay has finished."""
        return self.published, len(self.log.events), self.finished.is_set()

    @property
    def first_at(self) -> float | None:
        return self.log.events[0].at if self.log.events else None

    def clock(self) -> float:
        """The recorded session's time at this moment of the replay (for the UI's countdowns)."""
        first = self.first_at
        if first is None:
            return time.time()
        if self._started_at is None:
            return first
        if self.speed == 0:
            return self._last_at if self._last_at is not None else first
        return first + (self._monotonic() - self._started_at) * self.speed

    # --- SessionPort ---------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def info(self) -> SessionInfo:
        return self._info

    def subscribe(self) -> Subscription:
        subscription = self._bus.subscribe()
        self._begin()
        return subscription

    async def start(self) -> None:
        self._begin()

    def _begin(self) -> None:
        if self._player is None and not self._closed:
            self._player = asyncio.get_running_loop().create_task(self.play(), name="replay")

    async def play(self) -> None:
        """Publish every event, keeping the recorded gaps (divided by speed)."""
        events = self.log.events
        self._started_at = self._monotonic()
        try:
            first = events[0].at if events else 0.0
            for event in events:
                if self.speed > 0:
                    due = self._started_at + (event.at - first) / self.speed
                    delay = due - self._monotonic()
                    if delay > 0:
                        await self._sleep(delay)
                else:
                    await self._sleep(0)
                self._publish(event)
        finally:
            self.finished.set()

    def _publish(self, event: Event) -> None:
        if isinstance(event, SessionStateChanged):
            self._state = event.new
        self._diagnostics.apply(event)
        self._last_at = event.at
        self.published += 1
        self._bus.publish(event)

    async def disconnect(self, reason: str = "user") -> None:
        return None

    async def send_text(self, text: str) -> SendOutcome:
        return SendOutcome("refused", reason=READ_ONLY_REASON)

    async def send_control(
        self, msg_type: str, data: dict[str, Any] | None = None, *, ack_timeout_s: float = 10.0
    ) -> ControlResult:
        return ControlResult("refused", READ_ONLY_REASON)

    async def reset_idle_timer(self) -> None:
        return None

    def retry_now(self) -> None:
        return None

    def cancel_retry(self) -> None:
        return None

    def toggle_mute(self) -> bool:
        return False

    def toggle_push_to_talk(self) -> bool:
        return False

    def diagnostics(self) -> dict[str, Any]:
        out = self._diagnostics.snapshot(self.clock())
        out["replay"] = {
            "file": str(self.log.path),
            "speed": self.speed,
            "published": self.published,
            "events": len(self.log.events),
            "skipped": self.log.skipped,
        }
        return out

    async def close(self) -> None:
        self._closed = True
        player = self._player
        if player is not None and not player.done():
            player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await player
        self._bus.close()
