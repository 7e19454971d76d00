"""The character's voice: espeak-ng when installed, else a short tone pattern.

Each character speaks with its own ``Voice``: an espeak-ng voice and pitch, and a tone band of
its own (``--tts tone``), so in a room the listener, and a test's spectrum, can tell who spoke.
Everything returns 48 kHz mono int16 PCM, the rate of the bot's LiveKit audio track.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48_000
FRAME_SAMPLES = SAMPLE_RATE // 100
"""10 ms frames: the unit ``AudioSource.capture_frame`` is fed in."""

Pcm = npt.NDArray[np.int16]

TONE_STEPS = (1.0, 1.12, 1.24)
"""A tone voice's beeps are at these multiples of its base: its band is base .. 1.24 × base."""


@dataclass(frozen=True, slots=True)
class Voice:
    """How one character sounds: espeak-ng ``-v``/``-p``, and the base of its tone band."""

    espeak: str
    pitch: int
    tone_hz: float

    @property
    def tone_band_hz(self) -> tuple[float, float]:
        return (self.tone_hz * TONE_STEPS[0], self.tone_hz * TONE_STEPS[-1])


VOICES = (
    Voice("en-us", 50, 440.0),
    Voice("en-gb+m3", 35, 260.0),
    Voice("en-us+f3", 70, 750.0),
    Voice("en-gb-scotland+m7", 45, 1275.0),
    Voice("en-029+f4", 60, 2170.0),
)
"""Bases 1.7× apart: no two tone bands overlap."""

_ASSIGNED = ("demo-character", "demo-bo", "demo-cy", "demo-di", "demo-ed")
"""The demo cast (``demo --characters N``) gets one voice each, in order; any other character
id gets one by hash (two may then share a voice)."""

DEFAULT_VOICE = VOICES[0]


def voice_for(character_id: str) -> Voice:
    if character_id in _ASSIGNED:
        return VOICES[_ASSIGNED.index(character_id)]
    return VOICES[zlib.crc32(character_id.encode("utf-8")) % len(VOICES)]


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


async def synthesize(text: str, mode: str, voice: Voice = DEFAULT_VOICE) -> Pcm:
    """Speech for ``text``: ``espeak`` (falls back to ``tone``), ``tone``, or ``none`` (empty)."""
    if mode == "none" or not text.strip():
        return np.zeros(0, dtype=np.int16)
    if mode == "espeak" and espeak_available():
        with contextlib.suppress(OSError, ValueError):
            return await _espeak(text, voice)
    return tone_pattern(text, voice.tone_hz)


async def _espeak(text: str, voice: Voice) -> Pcm:
    # Text goes through stdin so a message starting with "-" is never read as an option.
    process = await asyncio.create_subprocess_exec(
        "espeak-ng",
        "--stdout",
        "-s",
        "175",
        "-v",
        voice.espeak,
        "-p",
        str(voice.pitch),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        wav, _ = await process.communicate(text.encode("utf-8"))
    except BaseException:
        # Cancelled mid-synthesis (e.g. the turn was interrupted): do not leave espeak behind.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise ValueError(f"espeak-ng exited with {process.returncode}")
    rate, samples = parse_wav(wav)
    return resample(samples, rate, SAMPLE_RATE)


def parse_wav(wav: bytes) -> tuple[int, Pcm]:
    """Minimal RIFF reader: espeak-ng writes placeholder sizes when streaming to stdout."""
    if len(wav) < 44 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    offset = 12
    rate = 22_050
    while offset + 8 <= len(wav):
        chunk_id = wav[offset : offset + 4]
        (chunk_size,) = struct.unpack("<I", wav[offset + 4 : offset + 8])
        body = offset + 8
        if chunk_id == b"fmt ":
            channels, rate = struct.unpack("<HI", wav[body + 2 : body + 8])
            if channels != 1:
                raise ValueError("expected mono speech")
        elif chunk_id == b"data":
            data = wav[body:]
            data = data[: len(data) - len(data) % 2]
            return rate, np.frombuffer(data, dtype="<i2").astype(np.int16)
        offset = body + chunk_size + (chunk_size % 2)
    raise ValueError("WAV stream without data")


def resample(samples: Pcm, from_rate: int, to_rate: int) -> Pcm:
    """Linear interpolation: plenty for a stand-in voice, and no extra dependency."""
    if from_rate == to_rate or samples.size == 0:
        return samples
    duration = samples.size / from_rate
    target_size = round(duration * to_rate)
    source_times = np.arange(samples.size) / from_rate
    target_times = np.arange(target_size) / to_rate
    resampled = np.interp(target_times, source_times, samples.astype(np.float64))
    return np.clip(resampled, -32768, 32767).astype(np.int16)


def tone_pattern(text: str, base_hz: float = DEFAULT_VOICE.tone_hz) -> Pcm:
    """A few short beeps, one per word up to five: recognisably "speech-shaped" and brief."""
    words = max(1, min(5, len(text.split())))
    beep_s, gap_s = 0.12, 0.05
    pieces: list[Pcm] = []
    for index in range(words):
        frequency = base_hz * TONE_STEPS[index % len(TONE_STEPS)]
        times = np.arange(int(SAMPLE_RATE * beep_s)) / SAMPLE_RATE
        envelope = np.minimum(1.0, np.minimum(times, beep_s - times) / 0.01)
        beep = 0.3 * 32767 * envelope * np.sin(2 * np.pi * frequency * times)
        pieces.append(beep.astype(np.int16))
        pieces.append(np.zeros(int(SAMPLE_RATE * gap_s), dtype=np.int16))
    return np.concatenate(pieces)
