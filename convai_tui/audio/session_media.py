"""The audio pipeline as the session's media hook: started after each room join, stopped
before leaving; meters sampled at 10 Hz into AudioLevels events; problems into catalogue errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from convai_tui.audio.errors import PLAYBACK_DROPPING
from convai_tui.audio.pipeline import AudioPipeline
from convai_tui.audio.playback_health import PlaybackHealth, dropping_message
from convai_tui.audio.settings import AudioSettings
from convai_tui.core.api.events import AudioLevels, AudioProblemCleared, Event, ParticipantLevels
from convai_tui.runtime import native_stderr

LEVELS_INTERVAL_S = 0.1
PARTICIPANT_LEVELS_INTERVAL_S = 1.0
PLAYBACK_CHECK_EVERY = 5
"""Playback health is judged every this many level samples (0.5 s)."""
SPEAKING_DBFS = -45.0
"""A participant whose audio is at least this loud (100 ms RMS) is speaking: well above a
quiet room's noise, well below any voice."""
LEVEL_RISE_DB = 6.0
"""A speaking participant this much louder than its last reported level is reported at once:
the reading that starts a speaking period can fall on a word's first milliseconds, and a reply
shorter than a second would otherwise keep that low figure on the meter."""


class SessionAudio:
    """Implements core.media.MediaHook; one instance lives for the whole session so mute and
    push-to-talk survive reconnects."""

    def __init__(
        self,
        settings: AudioSettings,
        *,
        emit: Callable[[Event], None],
        report: Callable[[str, str], None],
    ) -> None:
        self._settings = settings
        self._emit = emit
        self._report = report
        self._pipeline: AudioPipeline | None = None
        self._muted = settings.mute_on_start
        self._levels_task: asyncio.Task[None] | None = None
        self._last_stats: dict[str, Any] = {}
        self._volumes_db: dict[str, float] = {}
        self._health: PlaybackHealth | None = None
        self._mark_sink: Callable[[str, float], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def muted(self) -> bool:
        return self._muted

    def set_mark_sink(self, sink: Callable[[str, float], None]) -> None:
        """Where turn marks go (core.link.media.TurnMarkSink), called on the event loop."""
        self._mark_sink = sink

    def _mark_from_audio_thread(self, kind: str, at: float) -> None:
        sink, loop = self._mark_sink, self._loop
        if sink is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(sink, kind, at)

    async def attach(self, room: Any) -> None:
        self._loop = asyncio.get_running_loop()
        pipeline = AudioPipeline(self._settings, self._report, self._mark_from_audio_thread)
        self._pipeline = pipeline
        await pipeline.start(room)
        pipeline.set_muted(self._muted)
        self._health = PlaybackHealth(self._settings.sample_rate)
        for identity, gain_db in self._volumes_db.items():
            pipeline.set_volume(identity, gain_db)
        self._levels_task = asyncio.create_task(self._sample_levels(pipeline), name="levels")

    async def detach(self) -> None:
        task, self._levels_task = self._levels_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        health, self._health = self._health, None
        if health is not None and health.dropping:
            self._emit(AudioProblemCleared(code=PLAYBACK_DROPPING))
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            await pipeline.stop()
            self._last_stats = pipeline.stats()

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        if self._pipeline is not None:
            self._pipeline.set_muted(muted)

    def set_volume(self, identity: str, gain_db: float) -> None:
        """One participant's playback volume in dB (0 = as received); kept across reconnects."""
        self._volumes_db[identity] = gain_db
        if self._pipeline is not None:
            self._pipeline.set_volume(identity, gain_db)

    def toggle_push_to_talk(self) -> bool:
        """Open or close the mic in push-to-talk mode; returns True when it is open."""
        if self._pipeline is None:
            return False
        return self._pipeline.toggle_push_to_talk()

    def check_playback(self, pipeline: AudioPipeline, now: float) -> None:
        """Raise ``audio.playback_dropping`` when the output falls behind real time or drops
        speech, and say when it is over."""
        health, counts = self._health, pipeline.playback_counts()
        if health is None or counts is None:
            return
        verdict = health.sample(now, counts)
        if verdict is None:
            return
        if verdict.change == "raise":
            self._report(PLAYBACK_DROPPING, dropping_message(verdict))
        else:
            self._emit(AudioProblemCleared(code=PLAYBACK_DROPPING))

    def stats(self) -> dict[str, Any]:
        """The live pipeline's counters; after a detach, those it ended with. Plus the lines
        native audio libraries (ALSA, PortAudio) wrote to stderr, logged instead of shown."""
        stats = self._pipeline.stats() if self._pipeline is not None else dict(self._last_stats)
        stats["native_stderr_lines"] = native_stderr.lines_logged()
        return stats

    async def _sample_levels(self, pipeline: AudioPipeline) -> None:
        last: tuple[float | None, float | None, bool] | None = None
        participants = ParticipantLevelsSampler(self._emit)
        ticks = 0
        while True:
            now = time.monotonic()
            participants.sample(pipeline.participant_levels(), now)
            ticks += 1
            if ticks % PLAYBACK_CHECK_EVERY == 0:
                self.check_playback(pipeline, now)
            levels = pipeline.levels()
            current = (_round(levels.mic_dbfs), _round(levels.speaker_dbfs), levels.muted)
            if current != last:  # coalesce: an unchanged meter is not an event
                last = current
                self._emit(
                    AudioLevels(mic_dbfs=current[0], speaker_dbfs=current[1], muted=current[2])
                )
            await asyncio.sleep(LEVELS_INTERVAL_S)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class ParticipantLevelsSampler:
    """Turns 10 Hz samples of the participants' levels into ``ParticipantLevels`` events:
    at once when who is speaking changes or a speaker got ``LEVEL_RISE_DB`` louder than last
    reported, about once a second while anyone speaks, and nothing while all are quiet."""

    def __init__(self, emit: Callable[[Event], None]) -> None:
        self._emit = emit
        self._speaking: tuple[str, ...] = ()
        self._reported: dict[str, float] = {}
        self._last_at = float("-inf")

    def sample(self, levels: dict[str, float], now: float) -> None:
        speaking = tuple(sorted(i for i, dbfs in levels.items() if dbfs >= SPEAKING_DBFS))
        changed = speaking != self._speaking
        due = bool(speaking) and now - self._last_at >= PARTICIPANT_LEVELS_INTERVAL_S
        louder = any(
            levels[i] >= self._reported.get(i, float("-inf")) + LEVEL_RISE_DB for i in speaking
        )
        self._speaking = speaking
        if not (changed or due or louder):
            return
        self._last_at = now
        self._reported = {i: round(dbfs, 1) for i, dbfs in sorted(levels.items())}
        self._emit(ParticipantLevels(levels=dict(self._reported), speaking=speaking))
