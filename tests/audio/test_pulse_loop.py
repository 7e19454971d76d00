"""The capture and playback code through a real (private) PulseAudio, without LiveKit.

Mic: espeak-ng speech played into sink ``mic`` comes back through ``MicCapture`` from the default
source ``mic.monitor``. Speaker: a tone pushed through ``SpeakerPlayback`` (jitter buffer +
OutputStream) to the default sink ``spk`` is recorded from ``spk.monitor`` with ``parec``.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from convai_tui.audio import MicCapture, SpeakerPlayback, list_devices, tone
from convai_tui.audio.dsp.levels import FULL_SCALE

from .pulse import SAMPLE_RATE, PulseServer

pytestmark = [pytest.mark.audio, pytest.mark.serial]


def _dominant_hz(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(pcm))


async def _play_into_mic(pulse: PulseServer, wav: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "paplay", "--device=mic", str(wav), env=pulse.client_env()
    )


async def _finish(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):  # it may have just finished
            process.terminate()
    await asyncio.wait_for(process.wait(), 5)


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "hello.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(path), "Hello, this is the microphone test."],
        check=True,
        timeout=30,
    )
    return path


def test_portaudio_sees_the_pulse_device(pulse: PulseServer) -> None:
    names = [d.name for d in list_devices()]
    assert "pulse" in names, names


async def test_microphone_hears_speech_played_into_the_mic_sink(
    pulse: PulseServer, speech_wav: Path
) -> None:
    mic = MicCapture(asyncio.get_running_loop())
    mic.open()
    player = await _play_into_mic(pulse, speech_wav)
    frames: list[np.ndarray] = []
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            frame = await asyncio.wait_for(mic.read(), 1.0)
            frames.append(frame.pcm)
    finally:
        mic.close()
        await _finish(player)
    pcm = np.concatenate(frames)
    peak = np.abs(pcm.astype(np.int32)).max() / FULL_SCALE
    assert len(pcm) >= 1.5 * SAMPLE_RATE, f"only {len(pcm) / SAMPLE_RATE:.2f} s captured"
    assert peak > 0.05, f"captured peak {peak:.4f}: the speech did not arrive"
    assert mic.overflows == 0
    level = mic.meter.latest()
    assert level is not None and level.peak_dbfs > -40.0


async def test_speaker_output_reaches_the_speaker_sink(pulse: PulseServer) -> None:
    recorder = await asyncio.create_subprocess_exec(
        "parec",
        "--device=spk.monitor",
        "--format=s16le",
        f"--rate={SAMPLE_RATE}",
        "--channels=1",
        "--raw",
        "--latency-msec=20",
        stdout=asyncio.subprocess.PIPE,
        env=pulse.client_env(),
    )
    chunks: list[bytes] = []

    async def drain() -> None:
        assert recorder.stdout is not None
        while chunk := await recorder.stdout.read(4096):
            chunks.append(chunk)

    reader = asyncio.create_task(drain())
    speaker = SpeakerPlayback(jitter_target_ms=30)
    speaker.open()
    try:
        await asyncio.sleep(0.2)  # let parec connect before the tone starts
        signal = tone(440.0, 1.0, amplitude=0.5)
        # Pace the pushes like network frames (20 ms each), so the jitter buffer never overflows.
        started = time.monotonic()
        for i in range(0, len(signal), 960):
            speaker.push(signal[i : i + 960])
            target = started + (i + 960) / SAMPLE_RATE
            await asyncio.sleep(max(0.0, target - time.monotonic()))
        await asyncio.sleep(0.3)
    finally:
        speaker.close()
        await _finish(recorder)
        await asyncio.wait_for(reader, 5)
    recorded = np.frombuffer(b"".join(chunks), dtype=np.int16)
    assert len(recorded) > 0.5 * SAMPLE_RATE, "parec recorded almost nothing"
    peak = np.abs(recorded.astype(np.int32)).max() / FULL_SCALE
    assert peak > 0.05, f"recorded peak {peak:.4f}: the tone did not reach spk"
    loud = recorded[np.abs(recorded) > 0.05 * FULL_SCALE]
    assert abs(_dominant_hz(recorded) - 440.0) < 5.0
    assert len(loud) > 0.3 * SAMPLE_RATE
    stats = speaker.buffer.stats()
    assert stats.overflows == 0
    assert stats.start_latency_ms is not None and stats.start_latency_ms < 100.0


class _Participant:
    def __init__(self) -> None:
        self.published: list[object] = []

    async def publish_track(self, track: object, options: object) -> None:
        self.published.append(track)

    async def unpublish_track(self, sid: str) -> None:
        pass


class _Room:
    """Just enough of rtc.Room for the pipeline's mic half (no server needed)."""

    def __init__(self) -> None:
        self.local_participant = _Participant()
        self.remote_participants: dict[str, object] = {}

    def on(self, event: str, handler: object) -> None:
        pass

    def off(self, event: str, handler: object) -> None:
        pass


async def test_pipeline_sends_speech_through_the_apm(pulse: PulseServer, speech_wav: Path) -> None:
    from convai_tui.audio import AudioPipeline, AudioSettings

    problems: list[str] = []
    pipe = AudioPipeline(AudioSettings(aec=True), lambda code, msg: problems.append(code))
    result = await pipe.start(_Room())
    assert (result.mic, result.speaker) == (True, True), problems
    sent: list[np.ndarray] = []

    def record(pcm: np.ndarray) -> None:  # on PortAudio's input thread
        sent.append(pcm.copy())

    pipe._sender.send = record  # type: ignore[union-attr, method-assign]
    player = await _play_into_mic(pulse, speech_wav)
    try:
        await asyncio.sleep(2.0)
        levels = pipe.levels()
        stats = pipe.stats()
    finally:
        await _finish(player)
        await pipe.stop()
    assert problems == []
    pcm = np.concatenate(sent)
    assert len(sent) > 150, f"only {len(sent)} frames sent in 2 s"
    peak = np.abs(pcm.astype(np.int32)).max() / FULL_SCALE
    assert peak > 0.05, f"peak after APM {peak:.4f}"
    assert stats["apm"] and stats["capture_errors"] == 0 and stats["mic_overflows"] == 0
    assert levels.mic_dbfs is not None and levels.speaker_dbfs is not None
