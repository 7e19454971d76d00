"""A microphone without a sound card: clips handed to it are published as the session's
"microphone" track in real time, and silence between them, as a real microphone would send.

It is a session's media hook (core.link.media.MediaHook): attached after each room join,
detached before leaving. Scripted voice turns (`convai-tui eval`) use it; nothing is played.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

import numpy as np
from livekit import rtc

from .dsp.framing import DEFAULT_SAMPLE_RATE, Int16Array, pad_to_frames, samples_per_frame
from .pipeline import MIC_TRACK_NAME

FRAME_MS = 10
AHEAD_S = 0.2
"""How far the sender runs ahead of the wall clock, held in the source's queue: a busy event
loop that wakes late must not leave a gap in the track (the far end's VAD would hear the
utterance end there), as an OS buffer spares a real microphone."""
QUEUE_MS = 500


class FileMicrophone:
    """Sends queued clips (mono int16 at `sample_rate`) frame by frame, else silence."""

    def __init__(self, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        self.sample_rate = sample_rate
        self._frame = samples_per_frame(sample_rate, FRAME_MS)
        self._silence: Int16Array = np.zeros(self._frame, dtype=np.int16)
        self._clips: deque[tuple[list[Int16Array], asyncio.Future[float]]] = deque()
        self._room: Any = None
        self._source: rtc.AudioSource | None = None
        self._track: rtc.LocalAudioTrack | None = None
        self._task: asyncio.Task[None] | None = None
        self.frames_sent = 0

    async def attach(self, room: Any) -> None:
        loop = asyncio.get_running_loop()
        source = rtc.AudioSource(self.sample_rate, 1, queue_size_ms=QUEUE_MS, loop=loop)
        track = rtc.LocalAudioTrack.create_audio_track(MIC_TRACK_NAME, source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await room.local_participant.publish_track(track, options)
        self._room, self._source, self._track = room, source, track
        self._task = asyncio.create_task(self._send(source), name="file-mic")

    async def detach(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        room, track, source = self._room, self._track, self._source
        self._room = self._track = self._source = None
        if room is not None and track is not None:
            with contextlib.suppress(Exception):
                await room.local_participant.unpublish_track(track.sid)
        if source is not None:
            with contextlib.suppress(Exception):
                await source.aclose()
        while self._clips:  # a clip that never went out is not waited for
            _frames, done = self._clips.popleft()
            if not done.done():
                done.cancel()

    @property
    def attached(self) -> bool:
        return self._task is not None

    def play(self, pcm: Int16Array) -> asyncio.Future[float]:
        """Queue a clip; the future resolves with the monotonic time its last frame was sent."""
        padded = pad_to_frames(pcm, self._frame)
        frames = [padded[i : i + self._frame] for i in range(0, len(padded), self._frame)]
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._clips.append((frames, done))
        return done

    async def _send(self, source: rtc.AudioSource) -> None:
        started = time.monotonic()
        sent = 0
        while True:
            ahead = started + sent * FRAME_MS / 1000 - time.monotonic()
            if ahead > AHEAD_S:
                await asyncio.sleep(ahead - AHEAD_S / 2)
            frame = self._silence
            finished: asyncio.Future[float] | None = None
            if self._clips:
                frames, done = self._clips[0]
                frame = frames.pop(0)
                if not frames:
                    self._clips.popleft()
                    finished = done
            await source.capture_frame(
                rtc.AudioFrame(frame.tobytes(), self.sample_rate, 1, len(frame))
            )
            sent += 1
            self.frames_sent += 1
            if finished is not None and not finished.done():
                finished.set_result(time.monotonic())

    def stats(self) -> dict[str, Any]:
        return {"file_mic_frames_sent": self.frames_sent}
