"""The session's side of audio: the hook that rides on every room, and the mute and
push-to-talk controls the front ends call. With --no-audio there is no hook and the controls
say so instead of doing nothing silently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from convai_tui.core.api.events import Event, LogRecorded
from convai_tui.core.errors.error import SessionError, make_error

if TYPE_CHECKING:
    from livekit import rtc

log = logging.getLogger("convai_tui.audio")

DETACH_WITHIN_S = 2.0
"""How long stopping the audio may take on leaving: unpublishing the mic waits on LiveKit, which
may never answer once the server deleted the room."""


class MediaHook(Protocol):
    """Audio (or anything else) that rides on the room: attached after join, detached before
    leaving. Problems are reported through `on_problem`, never raised into the session."""

    async def attach(self, room: rtc.Room) -> None: ...

    async def detach(self) -> None: ...


TurnMarkSink = Callable[[str, float], None]
"""Turn marks from the audio side, on the event loop: (kind, monotonic time) with kind
speech_ended (the mic VAD's end of speech, hangover excluded), audio_received (a reply's first
audible frame in) or played (its first audible block reaching the speaker). A hook that has
`set_mark_sink` gets one; the core never looks inside the audio pipeline."""


class SessionMedia:
    """The optional hook plus the controls; optional extras (mute, push-to-talk, stats) are
    used when the hook has them."""

    def __init__(
        self,
        hook: MediaHook | None,
        publish: Callable[[Event], None],
        raise_error: Callable[[SessionError], SessionError],
    ) -> None:
        self.hook = hook
        self._publish = publish
        self._raise = raise_error
        self._mark_sink: TurnMarkSink | None = None

    def use(self, hook: MediaHook) -> None:
        """The front end's audio, attached to each room joined from now on."""
        self.hook = hook
        self._give_marks()

    def set_mark_sink(self, sink: TurnMarkSink) -> None:
        self._mark_sink = sink
        self._give_marks()

    def _give_marks(self) -> None:
        setter = getattr(self.hook, "set_mark_sink", None)
        if setter is not None and self._mark_sink is not None:
            setter(self._mark_sink)

    async def attach(self, room: rtc.Room) -> None:
        if self.hook is None:
            return
        try:
            await self.hook.attach(room)
        except Exception as exc:  # audio trouble never ends a session
            self._raise(make_error("audio.mic_publish_failed", f"Audio could not start: {exc}"))

    async def detach(self) -> None:
        if self.hook is None:
            return
        try:
            async with asyncio.timeout(DETACH_WITHIN_S):
                await self.hook.detach()
        except TimeoutError:
            log.warning("stopping the audio took longer than %g s; leaving anyway", DETACH_WITHIN_S)
        except Exception as exc:  # audio trouble never keeps the session from leaving
            log.debug("audio detach: %s", exc)

    @property
    def muted(self) -> bool:
        return bool(getattr(self.hook, "muted", False))

    def set_muted(self, muted: bool) -> None:
        setter = getattr(self.hook, "set_muted", None)
        if setter is not None:
            setter(muted)

    def set_volume(self, identity: str, gain_db: float) -> None:
        """One remote participant's playback volume in dB, when the hook plays audio."""
        setter = getattr(self.hook, "set_volume", None)
        if setter is not None:
            setter(identity, gain_db)

    def toggle_mute(self) -> bool:
        if self.hook is None:
            self._warn("Audio is off (--no-audio): nothing to mute.")
            return False
        self.set_muted(not self.muted)
        return self.muted

    def toggle_push_to_talk(self, on_release: Callable[[], None]) -> bool:
        """Open or close the talk key; `on_release` runs when it closes."""
        toggle = getattr(self.hook, "toggle_push_to_talk", None)
        if toggle is None:
            self._warn("Audio is off (--no-audio): no push-to-talk.")
            return False
        is_open = bool(toggle())
        if not is_open:
            on_release()
        return is_open

    def stats(self) -> dict[str, Any] | None:
        """The hook's own figures for the diagnostics, if it keeps any."""
        audio_stats = getattr(self.hook, "stats", None)
        if not callable(audio_stats):
            return None
        try:
            return dict(audio_stats())
        except Exception as exc:  # diagnostics must never take the session down
            return {"error": str(exc)}

    def _warn(self, message: str) -> None:
        self._publish(LogRecorded(level="warning", category="audio", message=message))
