"""The session's audio: microphone → APM → LiveKit, and every remote audio track → speaker.

No per-frame work runs on the application's event loop, and no thread is woken per frame that
is not woken anyway. Microphone frames are processed (APM) and sent to LiveKit on PortAudio's
input thread (``DirectFrameSender``, ``DirectApm``); each remote track's frames go into its own
jitter buffer and to the APM as the echo reference on LiveKit's own callback thread
(``DirectAudioStream``, one per track, managed by ``RemoteTracks``); PortAudio's output thread
only copies them out, summing them when the room has more than one (``RoomMix``; it makes no
call that releases and re-takes the GIL, which could make it miss its deadline on a busy
machine). With one track at unity gain the output is
that track's buffer, as in a single-character session; with more, the echo reference is the
mix as played.
Meters and counters are plain numbers those threads update; the application samples them.

Everything that can fail for want of a device is reported through ``on_problem(code, message)``
and the pipeline carries on without that direction, so a session without audio stays usable as
text-only. Nothing here raises on a missing device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from livekit import rtc

from .capture import MicCapture
from .devices import resolve_device
from .dsp.framing import Int16Array, samples_per_frame
from .dsp.vad import EnergyVad
from .errors import (
    MIC_PUBLISH_FAILED,
    MIC_UNAVAILABLE,
    SPEAKER_UNAVAILABLE,
    AudioError,
    ProblemCallback,
)
from .ffi_direct import DirectApm, DirectFrameSender, keep_capture_completions_off_the_loop
from .jitter import JitterBuffer
from .mix import RoomMix
from .playback import SpeakerPlayback
from .playback_health import PlaybackCounts
from .remote_tracks import RemoteTracks
from .settings import AudioLevelsSnapshot, AudioSettings, AudioStartResult

log = logging.getLogger(__name__)

MIC_TRACK_NAME = "microphone"
# APM's delay estimate is only a hint for AEC3; beyond this it is surely a measuring error.
_MAX_AEC_DELAY_MS = 500
# The delay hint is re-sent to the APM only when it moves by this much (each call is an FFI
# round trip; AEC3 tracks the actual delay itself and uses the hint only as a starting point).
_AEC_DELAY_STEP_MS = 10


class AudioPipeline:
    """Publishes the microphone to a LiveKit room and plays every remote audio track, mixed."""

    def __init__(
        self,
        settings: AudioSettings,
        on_problem: ProblemCallback,
        on_mark: Callable[[str, float], None] | None = None,
    ) -> None:
        self.settings = settings
        self._on_problem = on_problem
        self._on_mark = on_mark
        """Turn marks on the monotonic clock, from audio threads: speech_ended (the mic VAD's
        last voiced moment, hangover excluded), audio_received (a reply's first audible frame
        in), played (its first audible block reaching the speaker)."""
        self._vad = EnergyVad(settings.sample_rate, settings.frame_ms)
        self.frame_samples = samples_per_frame(settings.sample_rate, settings.frame_ms)
        self._remote = RemoteTracks(
            settings.sample_rate, self.frame_samples, on_mark, room_from_start=settings.room
        )
        self._muted = settings.mute_on_start
        self._ptt_mode = settings.push_to_talk
        self._ptt_open = False
        self._room: Any = None
        self._mic: MicCapture | None = None
        self._speaker: SpeakerPlayback | None = None
        self._apm: DirectApm | None = None
        self._source: rtc.AudioSource | None = None
        self._track: rtc.LocalAudioTrack | None = None
        self._sender: DirectFrameSender | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._aux_tasks: set[asyncio.Future[None]] = set()
        self._mix: RoomMix | None = None
        self._aec_delay_ms = -1
        # The mic frame being processed (without APM; with it, the APM's own capture buffer).
        self._capture_pcm: Int16Array = np.zeros(self.frame_samples, dtype=np.int16)
        self._silence: Int16Array = np.zeros(self.frame_samples, dtype=np.int16)
        self._frames_sent = 0
        self._capture_errors = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, room: Any) -> AudioStartResult:
        """Open the devices, publish the mic as "microphone", play the room's remote audio.

        ``room`` is an ``rtc.Room`` (connected). Problems go to ``on_problem``; never raises for
        a missing device.
        """
        if not self.settings.enabled:
            return AudioStartResult(mic=False, speaker=False)
        self._room = room
        loop = asyncio.get_running_loop()
        if self.settings.aec:
            apm = rtc.AudioProcessingModule(
                echo_cancellation=True,
                noise_suppression=True,
                high_pass_filter=True,
                auto_gain_control=True,
            )
            self._apm = DirectApm(apm, self.settings.sample_rate, self.frame_samples)
            self._capture_pcm = self._apm.capture
        mic_ok = await self._start_mic(room, loop)
        speaker_ok = self._start_speaker()
        if speaker_ok and self._mix is not None and self._speaker is not None:
            self._remote.watch(room, self._mix, self._speaker, self._apm)
        return AudioStartResult(mic=mic_ok, speaker=speaker_ok)

    async def stop(self) -> None:
        """Stop everything, unpublish the mic, close the devices; safe to call twice."""
        room, self._room = self._room, None
        self._remote.stop(room)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # The mic first: once its stream is closed no callback sends to the source below.
        if self._mic is not None:
            self._mic.close()
        if self._speaker is not None:
            self._speaker.close()
        self._sender = None
        track, self._track = self._track, None
        if room is not None and track is not None:
            with contextlib.suppress(Exception):
                await room.local_participant.unpublish_track(track.sid)
        source, self._source = self._source, None
        if source is not None:
            with contextlib.suppress(Exception):
                await source.aclose()

    # -- controls ----------------------------------------------------------------------------

    @property
    def muted(self) -> bool:
        """True when the mic sends silence (user mute, or push-to-talk closed)."""
        return self._muted or (self._ptt_mode and not self._ptt_open)

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        self._apply_mute()

    def set_push_to_talk(self, enabled: bool) -> None:
        """Switch push-to-talk mode on (the mic starts closed) or off."""
        self._ptt_mode = enabled
        self._ptt_open = False
        self._apply_mute()

    def toggle_push_to_talk(self) -> bool:
        """Open or close the mic in push-to-talk mode (enabling that mode if needed); True = open."""
        if not self._ptt_mode:
            self._ptt_mode = True
            self._ptt_open = True
        else:
            self._ptt_open = not self._ptt_open
        self._apply_mute()
        return self._ptt_open

    def _apply_mute(self) -> None:
        # Frames keep flowing as zeros (the AEC and the SFU keep their timing); muting the track
        # too tells the other side, which shows the mute and stops expecting speech.
        if self._track is None:
            return
        try:
            if self.muted:
                self._track.mute()
            else:
                self._track.unmute()
        except Exception as exc:
            log.debug("track mute failed: %s", exc)

    # -- readings ----------------------------------------------------------------------------

    def levels(self) -> AudioLevelsSnapshot:
        """Latest mic and speaker levels; cheap, meant to be polled at 10 Hz or more."""
        mic = self._mic.meter.latest() if self._mic is not None and self._mic.is_open else None
        spk = (
            self._speaker.meter.latest()
            if self._speaker is not None and self._speaker.is_open
            else None
        )
        return AudioLevelsSnapshot(
            mic_dbfs=mic.rms_dbfs if mic else None,
            speaker_dbfs=spk.rms_dbfs if spk else None,
            muted=self.muted,
            mic_peak_dbfs=mic.peak_dbfs if mic else None,
            speaker_peak_dbfs=spk.peak_dbfs if spk else None,
        )

    def playback_counts(self) -> PlaybackCounts | None:
        """What the device consumed and what the room's tracks delivered and lost, for
        ``PlaybackHealth``; None without a speaker."""
        speaker, mix = self._speaker, self._mix
        if speaker is None or mix is None or not speaker.is_open:
            return None
        totals = mix.totals()
        return PlaybackCounts(
            rendered=speaker.frames_rendered,
            received=int(totals["pushed_samples"]),
            dropped=int(totals["jitter_dropped_samples"]),
        )

    def set_volume(self, identity: str, gain_db: float) -> None:
        """Play ``identity``'s audio ``gain_db`` louder (negative: quieter), its tracks to come
        included."""
        self._remote.set_volume(identity, gain_db)

    def participant_levels(self) -> dict[str, float]:
        """Each remote participant's latest RMS level in dBFS, from its own audio (its
        loudest track when it has several); cheap, meant to be polled."""
        return self._remote.participant_levels()

    def stats(self) -> dict[str, Any]:
        """Counters for the metrics panel and logs (JSON-able)."""
        playing = self._remote.playing_sids
        out: dict[str, Any] = {
            "mic_open": bool(self._mic and self._mic.is_open),
            "speaker_open": bool(self._speaker and self._speaker.is_open),
            "apm": self._apm is not None,
            "muted": self.muted,
            "frames_sent": self._frames_sent,
            "capture_errors": self._capture_errors,
            "reverse_errors": self._remote.reverse_errors,
            "remote_frames": self._remote.frames,
            "playing_track_sid": next(iter(playing), None),
            "playing_track_sids": sorted(playing),
        }
        if self._mic is not None:
            out.update(
                frames_captured=self._mic.frames_captured,
                mic_overflows=self._mic.overflows,
                mic_device_overflows=self._mic.device_overflows,
                mic_stalls=self._mic.stalls,
                mic_reopens=self._mic.reopens,
            )
        if self._speaker is not None and self._mix is not None:
            totals = self._mix.totals()
            out.update(
                underruns=totals["underruns"],
                underrun_samples=totals["underrun_samples"],
                jitter_overflows=totals["jitter_overflows"],
                jitter_dropped_samples=totals["jitter_dropped_samples"],
                jitter_trimmed_samples=totals["jitter_trimmed_samples"],
                jitter_depth_ms=totals["jitter_depth_ms"],
                jitter_target_ms=totals["jitter_target_ms"],
                mix_inputs=totals["mix_inputs"],
                mix_limited_blocks=totals["limited_blocks"],
                participant_dbfs={i: round(d, 1) for i, d in self.participant_levels().items()},
                playback_start_latency_ms=self._remote.first_start_latency_ms(),
                output_latency_ms=round(1000.0 * self._speaker.output_latency_s, 1),
                speaker_device_underflows=self._speaker.device_underflows,
            )
        return out

    # -- microphone --------------------------------------------------------------------------

    async def _start_mic(self, room: Any, loop: asyncio.AbstractEventLoop) -> bool:
        try:
            device = resolve_device(self.settings.input_device, "input")
            mic = MicCapture(
                loop,
                device=device,
                sample_rate=self.settings.sample_rate,
                frame_ms=self.settings.frame_ms,
                queue_frames=self.settings.mic_queue_frames,
                latency=self.settings.input_latency_s,
                on_frame=self._on_mic_frame,  # drops frames until the sender below exists
                block_ms=self.settings.device_block_ms,
            )
            mic.open()
        except AudioError as exc:
            self._on_problem(exc.code, exc.message)
            return False
        except Exception as exc:  # never a traceback for a device problem
            self._on_problem(MIC_UNAVAILABLE, f"Cannot open the microphone: {exc}")
            return False
        self._mic = mic
        try:
            # No queue in the source: each 10 ms frame goes to WebRTC as the microphone delivers
            # it, so the mic's clock paces the track. A queued source is drained by a 10 ms
            # timer instead, and whatever a burst of frames puts in it stays as added delay.
            source = rtc.AudioSource(self.settings.sample_rate, 1, queue_size_ms=0, loop=loop)
            self._source = source
            track = rtc.LocalAudioTrack.create_audio_track(MIC_TRACK_NAME, source)
            options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            await room.local_participant.publish_track(track, options)
        except Exception as exc:
            mic.close()
            self._mic = None
            self._on_problem(MIC_PUBLISH_FAILED, f"Cannot publish the microphone: {exc}")
            return False
        self._track = track
        self._apply_mute()
        self._sender = DirectFrameSender(source, self.frame_samples)
        keep_capture_completions_off_the_loop(room)
        self._tasks.append(
            asyncio.create_task(
                mic.watch(self._on_problem, stall_after_s=self.settings.stall_after_s),
                name="audio-mic-watchdog",
            )
        )
        return True

    def _on_mic_frame(self, pcm: Int16Array, captured_at: float, input_latency_s: float) -> None:
        """PortAudio's input thread, once per 10 ms frame: APM, mute, send. Allocates nothing
        but the FFI requests; never raises (errors are counted)."""
        sender = self._sender
        if sender is None:
            return
        try:
            self._capture_pcm[:] = pcm
            if self._on_mark is not None:
                # The raw microphone, not the APM's output: its noise suppression and gain
                # leave a ~30 ms tail after speech stops, which would date the end late.
                self._mark_speech_end(
                    self._silence if self.muted else pcm, captured_at - input_latency_s
                )
            if self._apm is not None:
                delay_ms = int(
                    min(_MAX_AEC_DELAY_MS, 1000.0 * (input_latency_s + self._remote.render_delay_s))
                )
                if abs(delay_ms - self._aec_delay_ms) >= _AEC_DELAY_STEP_MS:
                    self._apm.set_stream_delay_ms(delay_ms)
                    self._aec_delay_ms = delay_ms
                self._apm.process_capture()  # in place
            if self.muted:
                # Frames keep flowing as zeros (the AEC keeps adapting, the SFU its timing).
                self._capture_pcm.fill(0)
            sender.send(self._capture_pcm)
            self._frames_sent += 1
        except Exception as exc:
            self._capture_errors += 1
            log.debug("mic frame dropped: %s", exc)

    def _mark_speech_end(self, pcm: Int16Array, frame_end_at: float) -> None:
        """`frame_end_at`: when the end of this frame was at the microphone."""
        for event in self._vad.feed(pcm):
            if event.kind == "speech_stopped" and self._on_mark is not None:
                self._on_mark("speech_ended", frame_end_at - (self._vad.stream_time_s - event.at_s))

    # -- speaker -----------------------------------------------------------------------------

    def _start_speaker(self) -> bool:
        try:
            device = resolve_device(self.settings.output_device, "output")
            speaker = SpeakerPlayback(
                device=device,
                sample_rate=self.settings.sample_rate,
                frame_ms=self.settings.frame_ms,
                jitter_target_ms=self.settings.jitter_target_ms,
                jitter_max_ms=self.settings.jitter_max_ms,
                jitter_grow_to_ms=self.settings.jitter_grow_to_ms,
                latency=self.settings.output_latency_s,
                block_ms=self.settings.device_block_ms,
            )
            if self._on_mark is not None:
                on_mark = self._on_mark
                speaker.on_onset = lambda at: on_mark("played", at)
            speaker.open()
        except AudioError as exc:
            self._on_problem(exc.code, exc.message)
            return False
        except Exception as exc:
            self._on_problem(SPEAKER_UNAVAILABLE, f"Cannot open the output device: {exc}")
            return False
        settings = self.settings

        def make_buffer(frame_ms: int) -> JitterBuffer:
            # A track delivered in larger frames keeps the same margin over one frame, so the
            # speaker does not run dry between two of its frames.
            target_ms = settings.jitter_target_ms + max(0, frame_ms - settings.frame_ms)
            return JitterBuffer(
                settings.sample_rate,
                target_ms,
                settings.jitter_max_ms,
                grow_to_ms=max(settings.jitter_grow_to_ms, target_ms),
                shed_latency=True,
            )

        self._mix = RoomMix(settings.sample_rate, make_buffer)
        speaker.source = self._mix
        self._speaker = speaker
        return True
