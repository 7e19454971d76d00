"""Audio for convai-tui: microphone capture to LiveKit, character playback, meters, devices.

Never imports ``textual`` or ``rich``; ``sounddevice`` is imported lazily (it raises OSError at
import time without PortAudio), so importing this package always works.

Public API
----------
Session use (``pipeline``/``settings``):

- ``AudioSettings(enabled, input_device, output_device, aec, sample_rate, frame_ms,
  device_block_ms, jitter_target_ms, jitter_grow_to_ms, jitter_max_ms, mute_on_start, push_to_talk,
  input_latency_s, output_latency_s, mic_queue_frames, stall_after_s, room)``. Playback starts once
  ``jitter_target_ms`` (floor 10 ms; each underrun adds 10 ms up to ``jitter_grow_to_ms``) is
  queued, at the next 10 ms callback, then the device adds ``output_latency_s``: about
  20 + 10 + 20 ms with the defaults.
- ``AudioPipeline(settings, on_problem)`` where ``on_problem(code: str, message: str)`` receives
  ``audio.*`` catalogue codes instead of exceptions:

  - ``await start(room) -> AudioStartResult(mic, speaker)``: opens the devices, publishes a
    local track "microphone" (SOURCE_MICROPHONE) fed through the APM (unless ``aec=False``),
    plays every remote audio track mixed (``RoomMix``; one track at unity gain goes straight
    to the device), runs the mic-stall watchdog.
  - Per-frame work runs on the audio threads, never on the caller's event loop: mic frames
    through the APM into LiveKit on PortAudio's input thread, each remote track's frames into
    its own jitter buffer on LiveKit's callback thread (``ffi_direct``), mixing and playback on
    PortAudio's output thread.
  - ``set_volume(identity, gain_db)``; ``participant_levels() -> {identity: dBFS}``;
    ``playback_counts()`` for ``PlaybackHealth`` (the ``audio.playback_dropping`` warning).
  - ``await stop()``; ``set_muted(bool)``; ``muted``; ``set_push_to_talk(bool)``;
    ``toggle_push_to_talk() -> bool`` (True: mic open).
  - ``levels() -> AudioLevelsSnapshot(mic_dbfs, speaker_dbfs, muted, mic_peak_dbfs,
    speaker_peak_dbfs)``: poll at >= 10 Hz; values are 100 ms windows, None when not running.
  - ``stats() -> dict``: frames_captured, frames_sent, mic_overflows, underruns,
    jitter_depth_ms, jitter_target_ms, playback_start_latency_ms, output_latency_ms, ...

Devices (``devices``): ``list_devices() -> list[DeviceInfo]`` (``DeviceInfo.to_json()``),
``resolve_device(spec, "input" | "output") -> int | None``.

Building blocks, pure and unit-tested: ``MicCapture`` and ``SpeakerPlayback`` (one PortAudio
stream each), ``JitterBuffer``, ``LevelMeter`` / ``peak_dbfs`` / ``rms_dbfs``, ``EnergyVad``,
``FrameAssembler`` / ``split_frames`` / ``join_frames``, ``resample_int16``, ``load_wav``,
``tone``.

Errors: ``AudioError(code, message)`` and the ``MIC_*`` / ``SPEAKER_UNAVAILABLE`` code constants.
"""

from __future__ import annotations

from .capture import CapturedFrame, MicCapture
from .devices import DeviceInfo, DeviceKind, list_devices, parse_devices, resolve_device
from .dsp.framing import FrameAssembler, join_frames, pad_to_frames, samples_per_frame, split_frames
from .dsp.levels import DBFS_FLOOR, Level, LevelMeter, peak_dbfs, rms_dbfs
from .dsp.resample import resample_int16
from .dsp.synth import silence, tone, white_noise
from .dsp.vad import EnergyVad, VadEvent
from .dsp.wav import load_wav, read_wav_mono, write_wav_mono
from .errors import (
    MIC_PERMISSION_DENIED,
    MIC_PUBLISH_FAILED,
    MIC_STALLED,
    MIC_UNAVAILABLE,
    SPEAKER_UNAVAILABLE,
    AudioError,
    ProblemCallback,
)
from .jitter import JitterBuffer, JitterStats
from .pipeline import MIC_TRACK_NAME, AudioPipeline
from .playback import SpeakerPlayback
from .settings import AudioLevelsSnapshot, AudioSettings, AudioStartResult

__all__ = [
    "DBFS_FLOOR",
    "MIC_PERMISSION_DENIED",
    "MIC_PUBLISH_FAILED",
    "MIC_STALLED",
    "MIC_TRACK_NAME",
    "MIC_UNAVAILABLE",
    "SPEAKER_UNAVAILABLE",
    "AudioError",
    "AudioLevelsSnapshot",
    "AudioPipeline",
    "AudioSettings",
    "AudioStartResult",
    "CapturedFrame",
    "DeviceInfo",
    "DeviceKind",
    "EnergyVad",
    "FrameAssembler",
    "JitterBuffer",
    "JitterStats",
    "Level",
    "LevelMeter",
    "MicCapture",
    "ProblemCallback",
    "SpeakerPlayback",
    "VadEvent",
    "join_frames",
    "list_devices",
    "load_wav",
    "pad_to_frames",
    "parse_devices",
    "peak_dbfs",
    "read_wav_mono",
    "resample_int16",
    "resolve_device",
    "rms_dbfs",
    "samples_per_frame",
    "silence",
    "split_frames",
    "tone",
    "white_noise",
    "write_wav_mono",
]
