"""Settings and result types of the audio pipeline (pure data, no devices, no LiveKit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AudioSettings:
    """How the session uses audio (filled from flags/config by the CLI)."""

    enabled: bool = True
    """False: no capture, no playback (``--no-audio``)."""
    input_device: int | str | None = None
    """Index, name substring, or None for the system default."""
    output_device: int | str | None = None
    """Index, name substring, or None for the system default."""
    aec: bool = True
    """WebRTC audio processing: echo cancellation, noise suppression, high-pass, AGC (``--no-aec`` turns it all off)."""
    sample_rate: int = 48_000
    frame_ms: int = 10
    device_block_ms: int = 10
    """Audio per PortAudio callback, both directions (a multiple of ``frame_ms``): 20 halves
    the device wake-ups (APM and LiveKit still get 10 ms frames) and adds ~10 ms each way."""
    jitter_target_ms: int = 20
    """Audio queued before playback starts; 10 ms is the floor. LiveKit's own receiver (NetEq)
    already smooths network jitter, so this covers only the event loop's delivery."""
    jitter_grow_to_ms: int = 60
    """Each playback underrun raises the target by 10 ms, up to this."""
    jitter_max_ms: int = 250
    """Beyond this the oldest queued audio is dropped, bounding playback latency."""
    mute_on_start: bool = False
    push_to_talk: bool = False
    """Start in push-to-talk mode: the mic sends silence until ``toggle_push_to_talk`` opens it."""
    input_latency_s: float = 0.03
    """Suggested PortAudio input latency (raise it if the mic overflows on a busy machine)."""
    output_latency_s: float = 0.02
    """Suggested PortAudio output latency (adds to ``jitter_target_ms`` before sound is heard)."""
    mic_queue_frames: int = 50
    """Frames the capture ring holds between the PortAudio thread and the event loop."""
    stall_after_s: float = 1.0
    """A microphone silent (no callbacks) this long is reported as ``audio.mic_stalled``."""
    room: bool = False
    """The session asked for a room (several characters, or a join): every remote track is
    received in room-sized frames from the first, though the characters publish later."""


@dataclass(frozen=True, slots=True)
class AudioLevelsSnapshot:
    """Latest meter readings in dBFS (None: that direction is not running or has no data yet)."""

    mic_dbfs: float | None
    """RMS of the raw microphone over the last 100 ms window."""
    speaker_dbfs: float | None
    """RMS of what was played over the last 100 ms window."""
    muted: bool
    """True when the mic sends silence (muted, or push-to-talk closed)."""
    mic_peak_dbfs: float | None = None
    speaker_peak_dbfs: float | None = None


@dataclass(frozen=True, slots=True)
class AudioStartResult:
    """Which directions came up."""

    mic: bool
    speaker: bool
