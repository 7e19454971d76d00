"""A simple energy voice-activity detector for 10 ms int16 frames.

Used by the local stand-in character to find the user's voice turns. A frame is *voiced* when
its RMS is above both an absolute threshold and an adaptive noise floor plus a margin. Speech
starts after ``min_speech_ms`` of consecutive voiced frames (so clicks are ignored) and stops
after ``hangover_ms`` without a voiced frame (so pauses between words do not split a turn).
Times are stream time: seconds of audio fed so far, independent of the wall clock.

A steady noise above the absolute threshold (a loud fan) is learnt at ``floor_rise_db_per_s``;
until then it reads as one long utterance. That trade keeps a long sentence from being learnt as
noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from .framing import as_int16
from .levels import rms_dbfs

VadEventKind = Literal["speech_started", "speech_stopped"]


@dataclass(frozen=True, slots=True)
class VadEvent:
    """``speech_started`` (``duration_s`` is 0) or ``speech_stopped`` with the voiced duration."""

    kind: VadEventKind
    at_s: float
    """Stream time of the event: the first voiced frame for a start, the last voiced frame's end
    for a stop (the hangover is not included)."""
    duration_s: float = 0.0


class EnergyVad:
    """Feed 10 ms frames with :meth:`feed`; it returns the events each frame caused."""

    def __init__(
        self,
        sample_rate: int = 48_000,
        frame_ms: int = 10,
        threshold_dbfs: float = -45.0,
        margin_db: float = 10.0,
        min_speech_ms: int = 50,
        hangover_ms: int = 300,
        floor_rise_db_per_s: float = 3.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.frame_s = frame_ms / 1000.0
        self.threshold_dbfs = threshold_dbfs
        self.margin_db = margin_db
        self._min_voiced_frames = max(1, round(min_speech_ms / frame_ms))
        self._hangover_frames = max(1, round(hangover_ms / frame_ms))
        # The floor follows quieter frames at once and louder ones only slowly, so a steady fan
        # is eventually learnt while a spoken sentence barely moves it.
        self._floor_rise = floor_rise_db_per_s * self.frame_s
        self.noise_floor_dbfs: float | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self._frames = 0
        self._run = 0  # consecutive voiced frames while not in speech
        self._run_start_s = 0.0
        self._in_speech = False
        self._speech_start_s = 0.0
        self._last_voiced_end_s = 0.0
        self._silent_frames = 0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def stream_time_s(self) -> float:
        return self._frames * self.frame_s

    def is_voiced(self, level_dbfs: float) -> bool:
        """Whether a frame at ``level_dbfs`` counts as voice given the current noise floor."""
        floor = self.noise_floor_dbfs
        gate = (
            self.threshold_dbfs
            if floor is None
            else max(self.threshold_dbfs, floor + self.margin_db)
        )
        return level_dbfs > gate

    def feed(self, frame: npt.ArrayLike) -> list[VadEvent]:
        """Process one frame (any length works; 10 ms is what the timing assumes)."""
        pcm = as_int16(frame)
        level = rms_dbfs(pcm) if len(pcm) else -np.inf
        start_s = self._frames * self.frame_s
        self._frames += 1
        end_s = self._frames * self.frame_s
        voiced = self.is_voiced(float(level))
        self._track_floor(float(level))
        events: list[VadEvent] = []
        if self._in_speech:
            if voiced:
                self._last_voiced_end_s = end_s
                self._silent_frames = 0
            else:
                self._silent_frames += 1
                if self._silent_frames >= self._hangover_frames:
                    events.append(self._stop())
        elif voiced:
            if self._run == 0:
                self._run_start_s = start_s
            self._run += 1
            if self._run >= self._min_voiced_frames:
                self._in_speech = True
                self._speech_start_s = self._run_start_s
                self._last_voiced_end_s = end_s
                self._silent_frames = 0
                self._run = 0
                events.append(VadEvent("speech_started", self._speech_start_s))
        else:
            self._run = 0
        return events

    def flush(self) -> list[VadEvent]:
        """End an utterance still open at the end of the stream."""
        return [self._stop()] if self._in_speech else []

    def reset(self) -> None:
        """Forget the current utterance, the stream time and the learnt noise floor."""
        self.noise_floor_dbfs = None
        self._reset_state()

    def _stop(self) -> VadEvent:
        self._in_speech = False
        self._silent_frames = 0
        self._run = 0
        duration = self._last_voiced_end_s - self._speech_start_s
        return VadEvent("speech_stopped", self._last_voiced_end_s, round(duration, 6))

    def _track_floor(self, level: float) -> None:
        if self.noise_floor_dbfs is None:
            # Start where the gate equals the absolute threshold: starting from the first frame
            # would learn the user's voice as noise when speech begins immediately.
            self.noise_floor_dbfs = self.threshold_dbfs - self.margin_db
        if level < self.noise_floor_dbfs:
            self.noise_floor_dbfs = level
        else:
            self.noise_floor_dbfs += min(level - self.noise_floor_dbfs, self._floor_rise)
