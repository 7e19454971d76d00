"""The bot's outgoing voice: one 48 kHz mono ``AudioSource`` published as ``character-voice``.

A reply's synthesized speech is played frame by frame and stopped short when the turn is
interrupted; echo mode (voice.py) pushes the user's own frames back.

A live track (echo mode's) has no send queue, as the client's microphone has none: each echoed
frame goes to WebRTC as it arrives from the bot's receiver, paced by that receiver's clock,
and a reply is paced by the loop's clock instead of the queue. A queued source is drained by a
10 ms timer, so an echoed frame waited 10-20 ms in it: the bot answered later than one that
forwards audio as it comes (the WebRTC leg, its Opus packet and the client's receiver, is the
same either way).
"""

from __future__ import annotations

import asyncio

import numpy as np
from livekit import rtc

from convai_tui.local.character import speech
from convai_tui.local.character.send_queue import SendQueueEstimate
from convai_tui.runtime.task_set import wait_unless

BOT_TRACK_NAME = "character-voice"
ECHO_QUEUE_MAX_S = 0.02
"""A queued track's bound on echoed audio waiting to be sent: WebRTC takes 10 ms every 10 ms, so
frames the receiver hands over in a burst would otherwise stay queued, late, for the rest of
the session."""
FRAME_S = speech.FRAME_SAMPLES / speech.SAMPLE_RATE


class VoiceTrack:
    """The audio source behind the bot's published track."""

    def __init__(self, voice: speech.Voice = speech.DEFAULT_VOICE, live: bool = False) -> None:
        self.persona = voice
        """How this character's speech sounds (speech.synthesize)."""
        self.live = live
        self._source = rtc.AudioSource(speech.SAMPLE_RATE, 1, queue_size_ms=0 if live else 1000)
        self._replying = False
        self._send_queue = SendQueueEstimate()
        self.echo_frames_dropped = 0

    def create_track(self) -> rtc.LocalAudioTrack:
        return rtc.LocalAudioTrack.create_audio_track(BOT_TRACK_NAME, self._source)

    async def play(self, pcm: speech.Pcm, interrupted: asyncio.Event) -> None:
        """Play ``pcm`` to the end (queued audio included) or until ``interrupted`` is set,
        then drop whatever is still queued."""
        frame_samples = speech.FRAME_SAMPLES
        padded = np.concatenate([pcm, np.zeros((-pcm.size) % frame_samples, dtype=np.int16)])
        loop = asyncio.get_running_loop()
        began = loop.time()
        self._replying = True
        try:
            for index, start in enumerate(range(0, padded.size, frame_samples)):
                if interrupted.is_set():
                    break
                if self.live:  # no queue to pace it: each frame at its time, late ones at once
                    await asyncio.sleep(max(0.0, began + index * FRAME_S - loop.time()))
                chunk = padded[start : start + frame_samples]
                frame = rtc.AudioFrame(chunk.tobytes(), speech.SAMPLE_RATE, 1, frame_samples)
                await self._capture(frame)
        finally:
            self._replying = False
        # capture_frame returns once a frame is queued; wait for the queue to play out.
        if not interrupted.is_set():
            await wait_unless(asyncio.ensure_future(self._source.wait_for_playout()), interrupted)
        if interrupted.is_set():
            self._source.clear_queue()
            self._send_queue.cleared()

    async def play_frame(self, frame: rtc.AudioFrame) -> None:
        """Push one 48 kHz mono frame straight onto the track (voice.py's echo mode).

        On a live track it goes out at once, unless a reply is playing (two streams of frames
        would be twice real time); on a queued one, a frame that would take the queue beyond
        ``ECHO_QUEUE_MAX_S`` is dropped. Either way echo mode adds no delay of its own."""
        duration_s = frame.samples_per_channel / frame.sample_rate
        if self.live:
            late = self._replying
        else:
            late = self._send_queue.queued_s() + duration_s > ECHO_QUEUE_MAX_S
        if late:
            self.echo_frames_dropped += 1
            return
        await self._capture(frame)

    async def _capture(self, frame: rtc.AudioFrame) -> None:
        await self._source.capture_frame(frame)
        self._send_queue.added(frame.samples_per_channel / frame.sample_rate)

    async def aclose(self) -> None:
        await self._source.aclose()
