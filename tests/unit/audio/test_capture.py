"""MicCapture, SpeakerPlayback and AudioPipeline against a fake sounddevice (no PortAudio)."""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
import types
from typing import Any, ClassVar, cast

import numpy as np
import pytest
from livekit import rtc

from convai_tui.audio import (
    MIC_STALLED,
    MIC_UNAVAILABLE,
    AudioPipeline,
    AudioSettings,
    MicCapture,
    SpeakerPlayback,
)
from convai_tui.audio.dsp.synth import tone
from convai_tui.audio.errors import AudioError
from convai_tui.audio.playback_health import PlaybackHealth
from convai_tui.audio.remote_tracks import ROOM_FRAME_MS
from convai_tui.audio.session_media import SessionAudio
from convai_tui.core.api.events import AudioProblemCleared


class FakeStream:
    """Stands in for sounddevice.InputStream/OutputStream; tests drive the callback."""

    def __init__(self, module: FakeSoundDevice, kind: str, **kwargs: Any) -> None:
        if module.fail_open:
            raise RuntimeError("Error opening InputStream: Device unavailable [PaErrorCode -9985]")
        self.kind = kind
        self.kwargs = kwargs
        self.callback = kwargs["callback"]
        self.channels = kwargs["channels"]
        self.latency = 0.02
        self.started = False
        self.closed = False
        module.streams.append(self)

    def start(self) -> None:
        self.started = True

    def abort(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    def deliver(self, pcm: np.ndarray, status: Any = None, adc_ago: float = 0.03) -> None:
        """The block's first sample reached the ADC `adc_ago` seconds before the callback."""
        indata = pcm.reshape(-1, 1)
        times = types.SimpleNamespace(currentTime=1.0, inputBufferAdcTime=1.0 - adc_ago)
        self.callback(indata, len(pcm), times, status)

    def render(self, frames: int, dac_in: float | None = None) -> np.ndarray:
        """One output block; `dac_in`: PortAudio's DAC time for it, seconds ahead (None: the
        host API gives no timing)."""
        out = np.full((frames, self.channels), 7, dtype=np.int16)
        times = (
            None
            if dac_in is None
            else types.SimpleNamespace(currentTime=5.0, outputBufferDacTime=5.0 + dac_in)
        )
        self.callback(out, frames, times, None)
        return out


class FakeSoundDevice(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("sounddevice")
        self.streams: list[FakeStream] = []
        self.fail_open = False
        self.default = types.SimpleNamespace(device=[0, 0])

    def InputStream(self, **kwargs: Any) -> FakeStream:
        return FakeStream(self, "input", **kwargs)

    def OutputStream(self, **kwargs: Any) -> FakeStream:
        return FakeStream(self, "output", **kwargs)

    def query_devices(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "fake",
                "hostapi": 0,
                "max_input_channels": 1,
                "max_output_channels": 1,
                "default_samplerate": 48000.0,
            }
        ]

    def query_hostapis(self) -> list[dict[str, Any]]:
        return [{"name": "Fake"}]

    def inputs(self) -> list[FakeStream]:
        return [s for s in self.streams if s.kind == "input"]


@pytest.fixture
def fake_sd(monkeypatch: pytest.MonkeyPatch) -> FakeSoundDevice:
    fake = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    return fake


async def test_capture_opens_mono_48k_10ms_and_reads_frames_in_order(
    fake_sd: FakeSoundDevice,
) -> None:
    mic = MicCapture(asyncio.get_running_loop())
    mic.open()
    (stream,) = fake_sd.streams
    assert stream.kwargs["samplerate"] == 48_000 and stream.kwargs["blocksize"] == 480
    assert stream.kwargs["dtype"] == "int16" and stream.channels == 1 and stream.started
    pcm = np.arange(480 * 3 + 100, dtype=np.int16)
    stream.deliver(pcm[:700])
    stream.deliver(pcm[700:])
    frames = [await mic.read() for _ in range(3)]
    assert np.array_equal(np.concatenate([f.pcm for f in frames]), pcm[:1440])
    assert mic.read_nowait() is None
    # Each frame carries the age of its own last sample: the block's first sample was 30 ms
    # old, frame 0 ends 480 samples (10 ms) into the first block, frame 1 260 samples into the
    # second, frame 2 740 samples into it.
    assert [f.input_latency_s for f in frames] == pytest.approx(
        [0.03 - 480 / 48_000, 0.03 - 260 / 48_000, 0.03 - 740 / 48_000]
    )
    mic.close()
    assert stream.closed


async def test_capture_wakes_reader_from_another_thread(fake_sd: FakeSoundDevice) -> None:
    mic = MicCapture(asyncio.get_running_loop())
    mic.open()
    stream = fake_sd.streams[0]
    reader = asyncio.create_task(mic.read())
    await asyncio.sleep(0.01)
    assert not reader.done()
    thread = threading.Thread(target=stream.deliver, args=(np.full(480, 5, dtype=np.int16),))
    thread.start()
    frame = await asyncio.wait_for(reader, 1.0)
    thread.join()
    assert frame.pcm[0] == 5


async def test_capture_overflow_is_counted_not_fatal(fake_sd: FakeSoundDevice) -> None:
    mic = MicCapture(asyncio.get_running_loop(), queue_frames=4)
    mic.open()
    stream = fake_sd.streams[0]
    for i in range(6):
        stream.deliver(
            np.full(480, i, dtype=np.int16), status=types.SimpleNamespace(input_overflow=i == 0)
        )
    assert mic.overflows == 2 and mic.device_overflows == 1
    assert [int((await mic.read()).pcm[0]) for _ in range(4)] == [0, 1, 2, 3]  # newest dropped
    stream.deliver(np.full(480, 9, dtype=np.int16))
    assert (await mic.read()).pcm[0] == 9


async def test_capture_meter_and_errors(fake_sd: FakeSoundDevice) -> None:
    mic = MicCapture(asyncio.get_running_loop())
    mic.open()
    for _ in range(10):
        fake_sd.streams[0].deliver(tone(1000.0, 0.01, amplitude=0.5))
    level = mic.meter.latest()
    assert level is not None and level.peak_dbfs == pytest.approx(-6.02, abs=0.1)
    fake_sd.streams[0].callback(None, 480, None, None)  # garbage: counted, not raised
    assert mic.callback_errors == 1


async def test_capture_open_failure_is_mic_unavailable(fake_sd: FakeSoundDevice) -> None:
    fake_sd.fail_open = True
    mic = MicCapture(asyncio.get_running_loop())
    with pytest.raises(AudioError) as info:
        mic.open()
    assert info.value.code == MIC_UNAVAILABLE
    assert "Device unavailable" in info.value.message


async def test_watchdog_reports_stall_once_and_reopens(fake_sd: FakeSoundDevice) -> None:
    mic = MicCapture(asyncio.get_running_loop())
    mic.open()
    problems: list[tuple[str, str]] = []
    watch = asyncio.create_task(
        mic.watch(
            lambda c, m: problems.append((c, m)),
            stall_after_s=0.1,
            check_every_s=0.01,
            retry_every_s=0.05,
        )
    )
    try:
        for _ in range(5):  # healthy: frames keep coming
            fake_sd.inputs()[-1].deliver(np.zeros(480, dtype=np.int16))
            await asyncio.sleep(0.03)
        assert problems == []
        await asyncio.sleep(0.35)  # stalled: one report, several reopen attempts
        assert [c for c, _ in problems] == [MIC_STALLED]
        assert mic.reopens >= 2 and len(fake_sd.inputs()) == 1 + mic.reopens
        assert all(s.closed for s in fake_sd.inputs()[:-1])
        for _ in range(5):  # the reopened stream delivers again: recovered
            fake_sd.inputs()[-1].deliver(np.zeros(480, dtype=np.int16))
            await asyncio.sleep(0.02)
        reopens = mic.reopens
        await asyncio.sleep(0.05)
        assert mic.reopens == reopens
        await asyncio.sleep(0.2)  # a second stall is a second report
        assert [c for c, _ in problems] == [MIC_STALLED, MIC_STALLED]
        assert mic.stalls == 2
    finally:
        watch.cancel()
        mic.close()


def test_playback_callback_pulls_from_jitter_buffer(fake_sd: FakeSoundDevice) -> None:
    spk = SpeakerPlayback(jitter_target_ms=20)
    spk.open()
    (stream,) = fake_sd.streams
    assert stream.kind == "output" and stream.kwargs["blocksize"] == 480
    assert spk.output_latency_s == pytest.approx(0.02)
    assert not stream.render(480).any()  # nothing queued: silence (not the 7s we pre-filled)
    spk.push(np.arange(1, 961, dtype=np.int16))
    out = stream.render(480)
    assert out[0, 0] == 1 and out[-1, 0] == 480
    stream.render(480)
    stream.render(480)  # dry
    assert spk.buffer.stats().underruns == 1
    spk.close()
    assert stream.closed


def listening_speaker(fake_sd: FakeSoundDevice) -> tuple[SpeakerPlayback, FakeStream, list[float]]:
    """An open speaker whose reply onsets are collected in the returned list."""
    spk = SpeakerPlayback(jitter_target_ms=10)
    heard: list[float] = []
    spk.on_onset = heard.append
    spk.open()
    (stream,) = fake_sd.streams
    return spk, stream, heard


def test_playback_dates_a_reply_onset_by_the_device_clock_and_its_place_in_the_block(
    fake_sd: FakeSoundDevice,
) -> None:
    spk, stream, heard = listening_speaker(fake_sd)
    reply = np.concatenate([np.zeros(240, np.int16), np.full(720, 4000, np.int16)])
    spk.push(reply)
    before = time.monotonic()
    stream.render(480, dac_in=0.035)
    after = time.monotonic()
    # PortAudio says the block leaves the DAC 35 ms from now (not the nominal 20 ms), and the
    # sound starts 240 samples (5 ms) into it.
    [at] = heard
    assert before + 0.040 <= at <= after + 0.040


def test_playback_without_device_timing_dates_an_onset_by_the_nominal_latency(
    fake_sd: FakeSoundDevice,
) -> None:
    spk, stream, heard = listening_speaker(fake_sd)
    spk.push(np.full(960, 4000, np.int16))
    stream.render(480)  # the host API gives no timing: the stream's latency (20 ms) stands in
    [at] = heard
    assert at - time.monotonic() == pytest.approx(0.02, abs=0.005)


class FakeParticipant:
    def __init__(self) -> None:
        self.published: list[tuple[Any, Any]] = []
        self.unpublished: list[str] = []

    async def publish_track(self, track: Any, options: Any) -> None:
        self.published.append((track, options))

    async def unpublish_track(self, sid: str) -> None:
        self.unpublished.append(sid)


class FakeRoom:
    def __init__(self) -> None:
        self.local_participant = FakeParticipant()
        self.remote_participants: dict[str, Any] = {}
        self.handlers: dict[str, list[Any]] = {}

    def on(self, event: str, handler: Any) -> Any:
        self.handlers.setdefault(event, []).append(handler)
        return handler

    def off(self, event: str, handler: Any) -> None:
        self.handlers[event].remove(handler)


@pytest.mark.parametrize("aec", [True, False])
async def test_pipeline_publishes_mic_sends_frames_and_mutes(
    fake_sd: FakeSoundDevice, aec: bool
) -> None:
    problems: list[tuple[str, str]] = []
    room = FakeRoom()
    pipe = AudioPipeline(AudioSettings(aec=aec), lambda c, m: problems.append((c, m)))
    result = await pipe.start(room)
    assert (result.mic, result.speaker) == (True, True)
    assert problems == []
    ((track, options),) = room.local_participant.published
    assert isinstance(track, rtc.LocalAudioTrack) and track.name == "microphone"
    assert options.source == rtc.TrackSource.SOURCE_MICROPHONE
    assert sorted(room.handlers) == ["track_subscribed", "track_unsubscribed"]
    mic_stream = fake_sd.inputs()[0]
    for _ in range(12):
        mic_stream.deliver(tone(440.0, 0.01, amplitude=0.25))
    for _ in range(100):
        if pipe.stats()["frames_sent"] == 12:
            break
        await asyncio.sleep(0.01)
    stats = pipe.stats()
    assert stats["frames_sent"] == 12 and stats["frames_captured"] == 12
    assert stats["apm"] is aec and stats["capture_errors"] == 0
    levels = pipe.levels()
    assert levels.mic_peak_dbfs == pytest.approx(-12.04, abs=0.1) and not levels.muted
    pipe.set_muted(True)
    assert pipe.levels().muted and track.muted
    pipe.set_muted(False)
    assert not track.muted
    assert pipe.toggle_push_to_talk() is True and not pipe.muted
    assert pipe.toggle_push_to_talk() is False and pipe.muted and track.muted
    await pipe.stop()
    assert room.local_participant.unpublished == [track.sid]
    assert room.handlers == {"track_subscribed": [], "track_unsubscribed": []}
    assert all(s.closed for s in fake_sd.streams)
    assert pipe.levels().mic_dbfs is None


async def test_pipeline_sends_mic_audio_unchanged_without_apm_and_zeros_when_muted(
    fake_sd: FakeSoundDevice,
) -> None:
    pipe = AudioPipeline(AudioSettings(aec=False), lambda c, m: None)
    await pipe.start(FakeRoom())
    sent: list[np.ndarray] = []

    def record(pcm: np.ndarray) -> None:
        sent.append(pcm.copy())

    pipe._sender.send = record  # type: ignore[union-attr, method-assign]
    voice = tone(440.0, 0.01, amplitude=0.25)
    mic_stream = fake_sd.inputs()[0]

    async def send_one() -> np.ndarray:
        before = len(sent)
        mic_stream.deliver(voice)
        for _ in range(100):
            if len(sent) > before:
                return sent[-1]
            await asyncio.sleep(0.005)
        raise AssertionError("frame not sent")

    assert np.array_equal(await send_one(), voice)
    pipe.set_muted(True)
    assert not (await send_one()).any()
    pipe.set_muted(False)
    assert np.array_equal(await send_one(), voice)
    await pipe.stop()


async def test_pipeline_push_to_talk_starts_closed(fake_sd: FakeSoundDevice) -> None:
    pipe = AudioPipeline(AudioSettings(push_to_talk=True, aec=False), lambda c, m: None)
    await pipe.start(FakeRoom())
    assert pipe.muted
    assert pipe.toggle_push_to_talk() is True and not pipe.muted
    await pipe.stop()


async def test_pipeline_disabled_touches_nothing(fake_sd: FakeSoundDevice) -> None:
    pipe = AudioPipeline(AudioSettings(enabled=False), lambda c, m: None)
    result = await pipe.start(FakeRoom())
    assert (result.mic, result.speaker) == (False, False) and fake_sd.streams == []
    await pipe.stop()


async def test_pipeline_bad_device_name_reports_and_continues(fake_sd: FakeSoundDevice) -> None:
    problems: list[str] = []
    pipe = AudioPipeline(
        AudioSettings(input_device="nope", aec=False), lambda c, m: problems.append(c)
    )
    result = await pipe.start(FakeRoom())
    assert (result.mic, result.speaker) == (False, True)
    assert problems == [MIC_UNAVAILABLE]
    await pipe.stop()


async def test_pipeline_processes_and_sends_each_mic_frame_on_the_capture_thread(
    fake_sd: FakeSoundDevice,
) -> None:
    pipe = AudioPipeline(AudioSettings(aec=True), lambda c, m: None)
    await pipe.start(FakeRoom())
    assert pipe._sender is not None
    threads: list[str] = []
    send = pipe._sender.send

    def spy(pcm: np.ndarray) -> None:
        threads.append(threading.current_thread().name)
        send(pcm)

    pipe._sender.send = spy  # type: ignore[method-assign]
    mic_stream = fake_sd.inputs()[0]

    def deliver_three() -> None:
        for _ in range(3):
            mic_stream.deliver(tone(440.0, 0.01))

    capture = threading.Thread(target=deliver_three, name="portaudio-input")
    capture.start()
    capture.join()
    # Sent by the time the callback returned: no event-loop hop in between.
    assert threads == ["portaudio-input"] * 3
    assert pipe.stats()["frames_sent"] == 3 and pipe.stats()["capture_errors"] == 0
    await pipe.stop()


async def test_pipeline_with_20ms_device_blocks_still_sends_10ms_frames(
    fake_sd: FakeSoundDevice,
) -> None:
    pipe = AudioPipeline(AudioSettings(aec=True, device_block_ms=20), lambda c, m: None)
    await pipe.start(FakeRoom())
    mic_stream, spk_stream = fake_sd.inputs()[0], fake_sd.streams[1]
    assert mic_stream.kwargs["blocksize"] == 960 and spk_stream.kwargs["blocksize"] == 960
    mic_stream.deliver(tone(440.0, 0.02, amplitude=0.25))
    spk_stream.render(960)
    stats = pipe.stats()
    assert stats["frames_sent"] == 2 and stats["frames_captured"] == 2
    assert stats["capture_errors"] == 0 and stats["reverse_errors"] == 0
    await pipe.stop()


async def test_pipeline_mixes_tracks_meters_each_and_feeds_the_mix_to_the_echo_canceller(
    fake_sd: FakeSoundDevice,
) -> None:
    pipe = AudioPipeline(AudioSettings(aec=True), lambda c, m: None)
    await pipe.start(FakeRoom())
    assert pipe._mix is not None and pipe._apm is not None
    reversed_frames: list[np.ndarray] = []
    process_reverse = pipe._apm.process_reverse

    def spy() -> None:
        reversed_frames.append(pipe._apm.reverse.copy())  # type: ignore[union-attr]
        process_reverse()

    pipe._apm.process_reverse = spy  # type: ignore[method-assign]
    ada, bo = pipe._mix.add("TR_a", "ada"), pipe._mix.add("TR_b", "bo")
    pipe.set_volume("bo", -6.0)
    assert bo.gain == pytest.approx(0.501, abs=0.001) and ada.gain == 1.0
    spk_stream = fake_sd.streams[1]
    played: list[np.ndarray] = []
    for _ in range(12):
        pipe._remote.on_frame(ada, tone(440.0, 0.01, amplitude=0.25))
        pipe._remote.on_frame(bo, tone(1275.0, 0.01, amplitude=0.25))
        played.append(spk_stream.render(480)[:, 0].copy())
    levels = pipe.participant_levels()
    assert set(levels) == {"ada", "bo"}
    assert levels["ada"] == pytest.approx(-15.05, abs=0.2)  # its own audio, before its volume
    assert levels["bo"] == pytest.approx(-15.05, abs=0.2)
    heard = np.concatenate(played)
    assert np.abs(heard).max() > 0.3 * 32767  # both, summed
    # The echo canceller's far end is what was played, frame for frame.
    assert reversed_frames and pipe.stats()["reverse_errors"] == 0
    assert any(np.array_equal(f, p) for f in reversed_frames for p in played if p.any())
    assert pipe.stats()["mix_inputs"] == 2
    assert set(pipe.stats()["participant_dbfs"]) == {"ada", "bo"}  # the diagnostics' meters
    await pipe.stop()


async def test_pipeline_with_one_track_feeds_its_frames_to_the_echo_canceller(
    fake_sd: FakeSoundDevice,
) -> None:
    pipe = AudioPipeline(AudioSettings(aec=True), lambda c, m: None)
    await pipe.start(FakeRoom())
    assert pipe._mix is not None and pipe._apm is not None
    reversed_frames: list[np.ndarray] = []

    def spy() -> None:
        reversed_frames.append(pipe._apm.reverse.copy())  # type: ignore[union-attr]

    pipe._apm.process_reverse = spy  # type: ignore[method-assign]
    only = pipe._mix.add("TR_a", "ada")
    frame = tone(440.0, 0.01, amplitude=0.25)
    pipe._remote.on_frame(only, frame)
    assert not pipe._mix.mixing
    assert len(reversed_frames) == 1 and np.array_equal(reversed_frames[0], frame)
    await pipe.stop()


class RecordedStream:
    """Stands in for DirectAudioStream: records the frame size each track was opened with."""

    opened: ClassVar[list[tuple[str, int | None]]] = []

    def __init__(self, track: Any, sample_rate: int, on_frame: Any, frame_ms: int | None) -> None:
        self.opened.append((track.sid, frame_ms))
        self.frames = 0

    def close(self) -> None:
        pass


def _audio_track(sid: str) -> Any:
    return types.SimpleNamespace(sid=sid, kind=rtc.TrackKind.KIND_AUDIO)


def record_streams(monkeypatch: pytest.MonkeyPatch) -> FakeRoom:
    """A room whose tracks' streams are recorded in ``RecordedStream.opened`` (sid, frame ms)."""
    monkeypatch.setattr("convai_tui.audio.remote_tracks.DirectAudioStream", RecordedStream)
    monkeypatch.setattr(RecordedStream, "opened", [])
    return FakeRoom()


async def test_a_track_joining_a_playing_room_comes_in_room_frames_and_keeps_its_margin(
    fake_sd: FakeSoundDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = record_streams(monkeypatch)
    pipe = AudioPipeline(AudioSettings(aec=False), lambda c, m: None)
    await pipe.start(room)
    (subscribed,) = room.handlers["track_subscribed"]
    (unsubscribed,) = room.handlers["track_unsubscribed"]
    ada, bo = types.SimpleNamespace(identity="ada"), types.SimpleNamespace(identity="bo")
    subscribed(_audio_track("TR_a"), None, ada)
    subscribed(_audio_track("TR_b"), None, bo)
    # The first track is opened as a single-character session's always is (LiveKit's 10 ms).
    assert ROOM_FRAME_MS == 40
    assert RecordedStream.opened == [("TR_a", None), ("TR_b", 40)]
    assert pipe._mix is not None
    first, second = pipe._mix.inputs
    assert first.buffer.target_ms == 20.0 and second.buffer.target_ms == 50.0
    # 40 ms frames against 10 ms device blocks, one of them late by half a frame: the extra
    # 30 ms of margin keeps the speaker from running dry.
    spk_stream = fake_sd.streams[1]
    voice = tone(440.0, 0.04, amplitude=0.25)
    heard = []
    for block in range(32):
        if block % 4 == 0 and block != 12:
            pipe._remote.on_frame(second, voice)
        if block == 14:  # the frame due before block 12 arrives two blocks late
            pipe._remote.on_frame(second, voice)
        heard.append(spk_stream.render(480)[:, 0].copy())
    assert np.abs(np.concatenate(heard)).max() > 0.2 * 32767
    assert second.buffer.stats().underruns == 0
    # A track that starts while another plays joins in room frames; alone again, 10 ms.
    unsubscribed(_audio_track("TR_a"), None, ada)
    subscribed(_audio_track("TR_c"), None, ada)
    unsubscribed(_audio_track("TR_b"), None, bo)
    unsubscribed(_audio_track("TR_c"), None, ada)
    subscribed(_audio_track("TR_d"), None, bo)
    assert RecordedStream.opened[2:] == [("TR_c", 40), ("TR_d", None)]
    await pipe.stop()


async def test_in_a_room_whose_characters_are_all_there_the_first_track_is_in_room_frames(
    fake_sd: FakeSoundDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = record_streams(monkeypatch)
    for identity, sid in (("ada", "TR_a"), ("bo", "TR_b")):
        publication = types.SimpleNamespace(sid=sid, kind=rtc.TrackKind.KIND_AUDIO, track=None)
        room.remote_participants[identity] = types.SimpleNamespace(
            identity=identity, track_publications={sid: publication}
        )
    pipe = AudioPipeline(AudioSettings(aec=False), lambda c, m: None)
    await pipe.start(room)
    (subscribed,) = room.handlers["track_subscribed"]
    subscribed(_audio_track("TR_a"), None, room.remote_participants["ada"])
    assert RecordedStream.opened == [("TR_a", 40)]  # bo's track is published: a room
    await pipe.stop()


async def test_a_session_that_asked_for_a_room_takes_room_frames_before_others_publish(
    fake_sd: FakeSoundDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = record_streams(monkeypatch)
    pipe = AudioPipeline(AudioSettings(aec=False, room=True), lambda c, m: None)
    await pipe.start(room)
    (subscribed,) = room.handlers["track_subscribed"]
    # The first character's track arrives while nobody else has published yet.
    subscribed(_audio_track("TR_a"), None, types.SimpleNamespace(identity="ada"))
    subscribed(_audio_track("TR_b"), None, types.SimpleNamespace(identity="bo"))
    assert RecordedStream.opened == [("TR_a", 40), ("TR_b", 40)]
    assert pipe._mix is not None
    assert [i.buffer.target_ms for i in pipe._mix.inputs] == [50.0, 50.0]
    await pipe.stop()


def _run_device(
    pipe: AudioPipeline, session: SessionAudio, clock: list[float], seconds: float, every: int
) -> list[float]:
    """``seconds`` of a track arriving in real time while the device takes a 10 ms block only
    every ``every``-th 10 ms; returns the times playback health was judged."""
    source = pipe._mix.inputs[0]  # type: ignore[union-attr]
    spk_stream = fake_sd_streams(pipe)[1]
    judged: list[float] = []
    for step in range(round(seconds * 100)):
        clock[0] += 0.01
        pipe._remote.on_frame(source, tone(440.0, 0.01, amplitude=0.25))
        if step % every == 0:
            spk_stream.render(480)
        if step % 50 == 49:  # SessionAudio judges every 0.5 s
            session.check_playback(pipe, clock[0])
            judged.append(clock[0])
    return judged


def fake_sd_streams(pipe: AudioPipeline) -> list[Any]:
    return cast(Any, sys.modules["sounddevice"]).streams  # type: ignore[no-any-return]


async def test_a_device_at_half_speed_raises_dropped_speech_within_3_s_and_clears_after(
    fake_sd: FakeSoundDevice,
) -> None:
    problems: list[tuple[str, str, float]] = []
    cleared: list[tuple[str, float]] = []
    clock = [0.0]

    def emit(event: Any) -> None:
        if isinstance(event, AudioProblemCleared):
            cleared.append((event.code, clock[0]))

    session = SessionAudio(
        AudioSettings(aec=False),
        emit=emit,
        report=lambda code, message: problems.append((code, message, clock[0])),
    )
    pipe = AudioPipeline(AudioSettings(aec=False), session._report)
    await pipe.start(FakeRoom())
    session._pipeline = pipe
    session._health = PlaybackHealth(48_000)
    assert pipe._mix is not None
    pipe._mix.add("TR_a", "ada")
    _run_device(pipe, session, clock, 1.0, every=1)  # a healthy start
    assert problems == []
    _run_device(pipe, session, clock, 3.0, every=2)  # the device slows to half speed
    assert problems, "no warning within 3 s of the device slowing down"
    code, message, raised_at = problems[0]
    assert code == "audio.playback_dropping" and raised_at - 1.0 <= 3.0
    speed = re.search(r"plays at (\d+)% of real time", message)
    assert speed is not None and int(speed.group(1)) < 90, message
    print(f"raised {raised_at - 1.0:.1f} s after the slowdown: {message}")
    assert len(problems) == 1 and cleared == []  # raised once, not every half second
    _run_device(pipe, session, clock, 4.0, every=1)  # back to real time
    assert [c for c, _ in cleared] == ["audio.playback_dropping"]
    print(f"cleared {cleared[0][1] - 4.0:.1f} s after the device was back to real time")
    assert cleared[0][1] - 4.0 <= 3.0
    assert len(problems) == 1
    await pipe.stop()
