"""The room's remote audio tracks into the mix, and the mix into the echo canceller.

Each subscribed audio track gets its own ``MixInput`` in the ``RoomMix`` and a
``DirectAudioStream`` whose frames arrive on LiveKit's callback thread: into the input's jitter
buffer and level meter, and to the APM as the far-end reference (the frame itself when it is the
only thing played, else the mix the output callback last played). The first audible frame of a
reply is reported as the ``audio_received`` turn mark.

A track that is the room's only remote audio is delivered 10 ms at a time, as a single-character
session needs for its latency. In a room every track comes ``ROOM_FRAME_MS`` at a time: each
delivery costs LiveKit's runtime a task wake-up and this process the GIL on that thread, so
three tracks at 40 ms cost fewer deliveries a second (75) than one track at 10 ms (100), for up to
30 ms more delay on room audio and a jitter target as much higher. A session is a room when it
asked for several characters (it is one from its first track on, though the characters publish
later) or when another track is received or published as a track starts; a track that started
alone keeps its 10 ms frames when others join (docs/BENCHMARKS.md, "A three-character room's
idle CPU").
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from livekit import rtc

from .dsp.framing import FrameAssembler, Int16Array
from .dsp.onset import Onset
from .ffi_direct import DirectApm, DirectAudioStream
from .mix import MixInput, RoomMix
from .playback import SpeakerPlayback

ROOM_FRAME_MS = 40
"""Audio per delivery of each track in a room (20 ms still cost a room of three 1.5 times a single
session's deliveries, over the idle CPU goal)."""


class RemoteTracks:
    """Plays every remote audio track of a room through one ``RoomMix``."""

    def __init__(
        self,
        sample_rate: int,
        frame_samples: int,
        on_mark: Callable[[str, float], None] | None,
        room_from_start: bool = False,
    ) -> None:
        self._sample_rate = sample_rate
        self._room_from_start = room_from_start
        self._frame_samples = frame_samples
        self._frame_ms = 1000 * frame_samples // sample_rate
        self._on_mark = on_mark
        self._onset = Onset()
        self._mix: RoomMix | None = None
        self._room: Any = None
        self._speaker: SpeakerPlayback | None = None
        self._apm: DirectApm | None = None
        self._streams: dict[str, DirectAudioStream] = {}
        self._gains: dict[str, float] = {}
        self._handlers: list[tuple[str, Any]] = []
        self._reverse_assembler = FrameAssembler(frame_samples)
        self._reverse_lock = threading.Lock()
        self.reverse_errors = 0
        self._ended_frames = 0
        self._start_latency_ms: float | None = None
        self.render_delay_s = 0.0
        """How long a frame arriving now waits before the speaker plays it (queued audio plus
        the device's latency): the microphone side's echo-delay hint."""

    # -- lifecycle ---------------------------------------------------------------------------

    def watch(
        self, room: Any, mix: RoomMix, speaker: SpeakerPlayback, apm: DirectApm | None
    ) -> None:
        """Play ``room``'s audio tracks, those subscribed already and those to come."""
        self._mix, self._speaker, self._apm = mix, speaker, apm
        self._room = room

        def on_subscribed(track: Any, publication: Any, participant: Any) -> None:
            self._play(track, getattr(participant, "identity", ""))

        def on_unsubscribed(track: Any, publication: Any, participant: Any) -> None:
            self._stop_track(getattr(track, "sid", None))

        for event, handler in (
            ("track_subscribed", on_subscribed),
            ("track_unsubscribed", on_unsubscribed),
        ):
            room.on(event, handler)
            self._handlers.append((event, handler))
        for participant in list(room.remote_participants.values()):
            for publication in list(participant.track_publications.values()):
                track = getattr(publication, "track", None)
                if track is not None:
                    self._play(track, participant.identity)

    def stop(self, room: Any) -> None:
        """Stop listening to ``room`` (None: it is gone already) and receiving every track."""
        if room is not None:
            for event, handler in self._handlers:
                with contextlib.suppress(Exception):
                    room.off(event, handler)
        self._handlers.clear()
        for sid in list(self._streams):
            self._stop_track(sid)
        if self._mix is not None:
            self._mix.clear()

    def _play(self, track: Any, identity: str) -> bool:
        """Add a remote audio track to the mix (once per track)."""
        mix = self._mix
        if mix is None or getattr(track, "kind", None) != rtc.TrackKind.KIND_AUDIO:
            return False
        sid = track.sid
        if sid in self._streams:
            return False
        frame_ms = self._frame_ms if self._alone(sid) else max(self._frame_ms, ROOM_FRAME_MS)
        source = mix.add(sid, identity, frame_ms)
        source.gain = self._gains.get(identity, 1.0)

        def on_frame(pcm: Int16Array) -> None:
            self.on_frame(source, pcm)

        # The first track leaves the frame size to LiveKit: each native 10 ms frame is handed
        # over as it comes, with no regrouping on the native side.
        native_ms = None if frame_ms == self._frame_ms else frame_ms
        self._streams[sid] = DirectAudioStream(track, self._sample_rate, on_frame, native_ms)
        return True

    def _alone(self, sid: str) -> bool:
        """True when track ``sid`` is the room's only remote audio: the session did not ask for
        a room and no other track is received or published."""
        if self._room_from_start or self._streams:
            return False
        participants = getattr(self._room, "remote_participants", None) or {}
        for participant in list(participants.values()):
            for publication in list(participant.track_publications.values()):
                if (
                    getattr(publication, "kind", None) == rtc.TrackKind.KIND_AUDIO
                    and getattr(publication, "sid", None) != sid
                ):
                    return False
        return True

    def _stop_track(self, sid: str | None) -> None:
        """The track went away: stop receiving; what it queued still plays out."""
        stream = self._streams.pop(sid, None) if sid is not None else None
        if sid is None or stream is None:
            return
        with contextlib.suppress(Exception):
            stream.close()
        self._ended_frames += stream.frames
        if self._mix is not None:
            self._mix.end(sid)

    # -- controls and readings ---------------------------------------------------------------

    def set_volume(self, identity: str, gain_db: float) -> None:
        """Play ``identity``'s audio ``gain_db`` louder (negative: quieter), its tracks to come
        included."""
        gain = 10.0 ** (gain_db / 20.0)
        self._gains[identity] = gain
        for source in self._mix.inputs if self._mix is not None else ():
            if source.identity == identity:
                source.gain = gain

    def participant_levels(self) -> dict[str, float]:
        """Each remote participant's latest RMS level in dBFS, from its own audio (its
        loudest track when it has several)."""
        levels: dict[str, float] = {}
        for source in self._mix.inputs if self._mix is not None else ():
            latest = source.meter.latest()
            if latest is None or source.ended:
                continue
            previous = levels.get(source.identity)
            levels[source.identity] = (
                latest.rms_dbfs if previous is None else max(previous, latest.rms_dbfs)
            )
        return levels

    def first_start_latency_ms(self) -> float | None:
        """How long the first track to play waited for its jitter buffer to fill."""
        for source in self._mix.inputs if self._mix is not None else ():
            latency = source.buffer.start_latency_ms
            if latency is not None:
                self._start_latency_ms = latency
                break
        return self._start_latency_ms

    @property
    def frames(self) -> int:
        """Frames received from every track, ended ones included."""
        return self._ended_frames + sum(s.frames for s in self._streams.values())

    @property
    def playing_sids(self) -> list[str]:
        """The sids of the tracks being received, in the order they started."""
        return list(self._streams)

    # -- LiveKit's callback thread -----------------------------------------------------------

    def on_frame(self, source: MixInput, pcm: Int16Array) -> None:
        """LiveKit's callback thread, once per 10 ms of one track's audio: into its jitter
        buffer, and to the echo canceller as the far-end reference: this frame when it is the
        only thing played, else the mix the output callback last played."""
        speaker, mix = self._speaker, self._mix
        if speaker is None or mix is None:
            return
        # The frame plays after what is already queued plus the device's own latency.
        self.render_delay_s = mix.depth_ms / 1000.0 + speaker.output_latency_s
        source.buffer.push(pcm)
        source.meter.update(pcm)
        if self._on_mark is not None:
            now = time.monotonic()
            if self._onset.feed(pcm, now):
                self._on_mark("audio_received", now)
        apm = self._apm
        if apm is None:
            return
        if not self._reverse_lock.acquire(blocking=False):
            return  # another track's frame is feeding the reference right now
        try:
            if mix.mixing:
                self._reverse_from_mix(apm, mix)
            else:
                if mix.reference.depth_samples:
                    mix.reference.clear()
                self._reverse_from(apm, pcm)
        except Exception:
            self.reverse_errors += 1
        finally:
            self._reverse_lock.release()

    def _reverse_from(self, apm: DirectApm, pcm: Int16Array) -> None:
        n = self._frame_samples
        if len(pcm) % n == 0 and not self._reverse_assembler.pending:
            for start in range(0, len(pcm), n):  # whole 10 ms frames, as LiveKit sends
                apm.reverse[:] = pcm[start : start + n]
                apm.process_reverse()
            return
        for chunk in self._reverse_assembler.push(pcm):
            apm.reverse[:] = chunk
            apm.process_reverse()

    def _reverse_from_mix(self, apm: DirectApm, mix: RoomMix) -> None:
        reference = mix.reference
        while reference.depth_samples >= self._frame_samples:
            reference.pull_into(apm.reverse)
            apm.process_reverse()
