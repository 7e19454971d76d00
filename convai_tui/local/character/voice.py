"""Voice turns for the stand-in character: it listens to the user's microphone track.

`reply` mode runs an energy VAD over the track and answers each utterance like a typed turn,
with the Pipecat user events around it and a placeholder transcript ("[speech 1.4 s]": there is
no offline speech recogniser). An utterance ends after `HANGOVER_S` of silence, so one spoken
sentence with its pauses is one turn. `echo` mode plays the user's audio straight back with no
processing, so a round trip through the whole stack can be measured. While the user's audio is
inaudible the echo sends digital silence instead, frame for frame: that is what an idle bot on
LiveKit's Python SDK sends (its queued `AudioSource` fills every 10 ms without audio with zeros),
which the Opus encoder turns into DTX (the SDK publishes with dtx on unless told otherwise, and
livekit-server then answers `usedtx=1`). Echoing the idle link's comfort noise instead would keep
both directions streaming at 50 packets/s: the client's echo canceller adds comfort noise to its
microphone while it hears noise, and the echo sends that back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from livekit import rtc

from convai_tui.audio.dsp.levels import peak
from convai_tui.audio.dsp.vad import EnergyVad
from convai_tui.local.character import rtvi
from convai_tui.local.character.turns import other_punctuation

if TYPE_CHECKING:
    from convai_tui.local.character.bot import Character, UserAudioHook

log = logging.getLogger("convai_tui.local.character.voice")

VoiceMode = Literal["reply", "echo", "off"]
SAMPLE_RATE = 48_000


HANGOVER_S = 0.8
"""Silence that ends an utterance: Pipecat's default ``stop_secs``, long enough for the pauses
inside one spoken sentence (a client's ``vad_params.stop_secs`` on /connect wins)."""


ECHO_OPEN_PEAK = 33
"""About -60 dBFS: above the comfort noise of an idle link (peaks of 0 to 11 measured), far below
speech or a test tone."""
ECHO_HOLD_S = 1.0
"""Once audible, the echo stays open this long past the last audible frame: a quiet tail, and an
echo of the echo (one round trip later, at whatever level the client's canceller leaves it),
are played back as they are."""


class EchoGate:
    """Which frames the echo plays back: those from the first audible one until ``hold_s`` of
    inaudible audio has followed (counted in samples, so it is exact whatever the pacing)."""

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        open_peak: int = ECHO_OPEN_PEAK,
        hold_s: float = ECHO_HOLD_S,
    ) -> None:
        self._open_peak = open_peak
        self._hold = round(hold_s * sample_rate)
        self._left = 0

    def passes(self, pcm: npt.NDArray[np.int16]) -> bool:
        if peak(pcm) >= self._open_peak:
            self._left = self._hold
            return True
        if self._left > 0:
            self._left -= len(pcm)
            return True
        return False


def placeholder_transcript(duration_s: float, number: int = 1) -> str:
    """Numbered, so two utterances of the same length never read as one repeated final."""
    return f"[speech {number}: {duration_s:.1f} s]"


def hangover_s(request: dict[str, Any]) -> float:
    params = request.get("vad_params")
    stop = params.get("stop_secs") if isinstance(params, dict) else None
    if isinstance(stop, int | float) and not isinstance(stop, bool) and 0.1 <= stop <= 5:
        return float(stop)
    return HANGOVER_S


def make_vad(request: dict[str, Any]) -> EnergyVad:
    return EnergyVad(sample_rate=SAMPLE_RATE, hangover_ms=round(hangover_s(request) * 1000))


def make_voice_hook(mode: VoiceMode) -> UserAudioHook | None:
    """The hook the stand-in runs for each client audio track, or None when voice is off."""
    if mode == "off":
        return None
    return echo_user_audio if mode == "echo" else answer_voice_turns


async def answer_voice_turns(
    character: Character, track: rtc.RemoteAudioTrack, participant: rtc.RemoteParticipant
) -> None:
    stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
    vad = make_vad(character.request)
    turns: set[asyncio.Task[None]] = set()
    # One utterance's user events all go out before the next one's: a client builds one user
    # line per utterance from them.
    in_order = asyncio.Lock()
    utterances = 0
    try:
        async for event in stream:
            if character.stt_muted:
                # stt-toggle muted: the character hears nothing; an utterance under way ends
                # unheard, so the client's "user speaking" indicator does not stay on.
                if vad.in_speech:
                    vad.reset()
                    await character.send(rtvi.form_a("user-stopped-speaking"))
                    await character.send(
                        rtvi.form_b(
                            "vad-stt-stopped",
                            timestamp=_iso_now(),
                            reason="stt_muted",
                            audio_duration_ms=0,
                        )
                    )
                continue
            pcm = np.frombuffer(event.frame.data, dtype=np.int16)
            for vad_event in vad.feed(pcm):
                if vad_event.kind == "speech_started":
                    await _send_speech_started(character)
                else:
                    utterances += 1
                    task = asyncio.create_task(
                        _finish_utterance(
                            character,
                            participant.identity,
                            placeholder_transcript(vad_event.duration_s, utterances),
                            vad_event.duration_s,
                            in_order,
                        )
                    )
                    turns.add(task)
                    task.add_done_callback(turns.discard)
    finally:
        await stream.aclose()


async def _send_speech_started(character: Character) -> None:
    await character.send(rtvi.form_b("vad-stt-started", timestamp=_iso_now(), pre_roll_ms=0))
    await character.send(rtvi.form_a("user-started-speaking"))


async def _finish_utterance(
    character: Character, identity: str, text: str, duration_s: float, in_order: asyncio.Lock
) -> None:
    async with in_order:
        await _send_user_side(character, identity, text, duration_s)
    await character.handle_user_utterance(text)


async def _send_user_side(
    character: Character, identity: str, text: str, duration_s: float
) -> None:
    await character.send(rtvi.form_a("user-stopped-speaking"))
    await character.send(
        rtvi.form_b(
            "vad-stt-stopped",
            timestamp=_iso_now(),
            reason="hangover_elapsed",
            audio_duration_ms=round(duration_s * 1000),
        )
    )
    began = time.monotonic()
    if character.faults.asr_delay_ms > 0:  # the STT stage, before any transcript
        await asyncio.sleep(character.faults.asr_delay_ms / 1000)
    character.asr_spent_ms = round((time.monotonic() - began) * 1000, 1)
    if character.strict:
        await _strict_transcripts(character, identity, text)
    else:
        await character.send(
            rtvi.form_a(
                "user-transcription",
                {"text": text, "final": True, "user_id": identity, "timestamp": _iso_now()},
            )
        )
        await character.send(
            rtvi.form_b("final-user-transcription", text=text, participant_id=identity)
        )


async def _strict_transcripts(character: Character, identity: str, text: str) -> None:
    """As the service's STT reports speech: interim results, the utterance's final segments,
    final-user-transcription for the whole of it, then a repeat punctuated differently."""
    words = text.split()
    half = max(1, len(words) // 2)
    segments = [" ".join(words[:half]), " ".join(words[half:])]
    for segment in (s for s in segments if s):
        interim = " ".join(segment.split()[: max(1, len(segment.split()) - 1)])
        for final, part in ((False, interim), (True, segment)):
            await character.send(
                rtvi.form_a(
                    "user-transcription",
                    {"text": part, "final": final, "user_id": identity, "timestamp": _iso_now()},
                )
            )
    await character.send(
        rtvi.form_b("final-user-transcription", text=text, participant_id=identity)
    )
    await character.send(rtvi.form_b("final-user-transcription", text=other_punctuation(text)))


class EchoUserAudio:
    """Echo mode's hook: every frame of the user's track straight back onto the bot's, as
    digital silence of the same length while the user is inaudible (an idle bot's track)."""

    live_voice = True
    """The bot's track forwards frames as they come, with no send queue (voice_track.py)."""

    async def __call__(
        self, character: Character, track: rtc.RemoteAudioTrack, participant: rtc.RemoteParticipant
    ) -> None:
        stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        gate = EchoGate()
        silences: dict[int, rtc.AudioFrame] = {}
        try:
            async for event in stream:
                frame = event.frame
                if not gate.passes(np.frombuffer(frame.data, dtype=np.int16)):
                    # The same length of digital silence, so the echo's timing does not change.
                    n = frame.samples_per_channel
                    if n not in silences:
                        silences[n] = rtc.AudioFrame.create(SAMPLE_RATE, 1, n)
                    frame = silences[n]
                await character.play_frame(frame)
        finally:
            await stream.aclose()


echo_user_audio = EchoUserAudio()


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
