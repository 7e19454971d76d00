"""VoiceTrack: a live track (echo mode's) sends each frame as it comes and paces a reply by the
clock; a queued one lets a burst through only up to its bound."""

from __future__ import annotations

import asyncio

import numpy as np
from livekit import rtc

from convai_tui.local.character import speech
from convai_tui.local.character.voice import echo_user_audio, make_voice_hook
from convai_tui.local.character.voice_track import VoiceTrack


def frame() -> rtc.AudioFrame:
    pcm = np.full(speech.FRAME_SAMPLES, 1000, dtype=np.int16)
    return rtc.AudioFrame(pcm.tobytes(), speech.SAMPLE_RATE, 1, speech.FRAME_SAMPLES)


def record_captures(voice: VoiceTrack) -> list[float]:
    """Replace the native source's capture by a note of when it was called (at once, however
    busy the machine)."""
    times: list[float] = []
    loop = asyncio.get_running_loop()

    async def capture(_frame: rtc.AudioFrame) -> None:
        times.append(loop.time())

    voice._source.capture_frame = capture  # type: ignore[method-assign,assignment]
    return times


async def test_a_live_track_sends_an_echo_burst_whole_and_a_queued_one_bounds_it() -> None:
    live, queued = VoiceTrack(live=True), VoiceTrack()
    try:
        for voice in (live, queued):
            sent = record_captures(voice)
            for _ in range(5):  # a burst, as a receiver hands frames over after a stall
                await voice.play_frame(frame())
            assert len(sent) + voice.echo_frames_dropped == 5
        assert live.echo_frames_dropped == 0
        assert queued.echo_frames_dropped == 3  # 20 ms queued: the rest would only wait
    finally:
        await live.aclose()
        await queued.aclose()


async def test_a_live_track_paces_a_reply_by_the_clock() -> None:
    voice = VoiceTrack(live=True)
    times = record_captures(voice)
    try:
        await voice.play(np.zeros(10 * speech.FRAME_SAMPLES, dtype=np.int16), asyncio.Event())
    finally:
        await voice.aclose()
    assert len(times) == 10
    assert times[-1] - times[0] >= 0.085  # nine 10 ms steps (the loop may only be late)


async def test_a_queued_track_leaves_the_pacing_to_its_queue() -> None:
    voice = VoiceTrack()
    times = record_captures(voice)
    try:
        await voice.play(np.zeros(10 * speech.FRAME_SAMPLES, dtype=np.int16), asyncio.Event())
    finally:
        await voice.aclose()
    assert len(times) == 10 and times[-1] - times[0] < 0.085


async def test_echo_frames_are_dropped_while_a_live_track_plays_a_reply() -> None:
    voice = VoiceTrack(live=True)
    record_captures(voice)
    try:
        reply = asyncio.create_task(
            voice.play(np.zeros(5 * speech.FRAME_SAMPLES, dtype=np.int16), asyncio.Event())
        )
        await asyncio.sleep(0.01)
        await voice.play_frame(frame())
        await reply
        await voice.play_frame(frame())
    finally:
        await voice.aclose()
    assert voice.echo_frames_dropped == 1


def test_echo_mode_asks_for_a_live_track() -> None:
    assert make_voice_hook("echo") is echo_user_audio
    assert getattr(echo_user_audio, "live_voice", False) is True
    assert not getattr(make_voice_hook("reply"), "live_voice", False)
