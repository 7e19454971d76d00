"""The LiveKit room: join, participants, data in and out, and how the room connection ended.

This wraps `livekit.rtc.Room` and reports what happens as plain callbacks to the session; it
makes no retry decisions itself (see disconnect_reasons.py and session.py).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from livekit import rtc
from livekit.rtc import stats as rtc_stats
from livekit.rtc.room import EventTypes as RoomEvent

from convai_tui.core.api.events import ParticipantInfo
from convai_tui.core.errors.error import ConvaiError, make_error
from convai_tui.core.errors.redact import redact, redact_token
from convai_tui.core.link.native_logs import forward_native_logs, native_logs_wanted
from convai_tui.core.link.watch import LinkSignals
from convai_tui.runtime.last_resort import end_process_after

log = logging.getLogger("convai_tui.transport")

_CHARACTER_METADATA_KEYS = (
    "characterId",
    "character_id",
    "convai_character_id",
    "convaiCharacterId",
)
LEAVE_WITHIN_S = 3.0
"""How long leaving a room may take before the client goes on without LiveKit's confirmation."""
LEAVE_LAST_RESORT_S = 5.0
"""How much longer the process waits, should the leave block the event loop itself inside
LiveKit's native code, before it ends (runtime/last_resort.py)."""
_AGENT_KIND = 4  # livekit ParticipantKind.PARTICIPANT_KIND_AGENT
_QUALITY = {
    rtc.ConnectionQuality.QUALITY_EXCELLENT: "excellent",
    rtc.ConnectionQuality.QUALITY_GOOD: "good",
    rtc.ConnectionQuality.QUALITY_POOR: "poor",
    rtc.ConnectionQuality.QUALITY_LOST: "lost",
}

Handler = Callable[..., None]


def on_room(room: rtc.Room, event: RoomEvent) -> Callable[[Handler], Handler]:
    """`room.on(event)` with the handler's signature worked out once. LiveKit's `EventEmitter`
    calls `inspect.signature` on each handler every time it emits (tens of data packets and
    speaker changes a second while the character talks); a function's `__signature__` is
    what `inspect.signature` returns without working it out again."""

    def register(handler: Handler) -> Handler:
        handler.__signature__ = inspect.signature(handler)  # type: ignore[attr-defined]
        room.on(event, handler)
        return handler

    return register


@dataclass(frozen=True, slots=True)
class TransportCallbacks:
    """What the session wants to hear from the room. All run on the event loop."""

    on_data: Callable[[bytes, str | None], None]
    on_participant: Callable[[str, ParticipantInfo], None]  # "joined" | "left" | "updated"
    on_disconnected: Callable[[int], None]
    on_reconnecting: Callable[[], None]
    on_reconnected: Callable[[], None]

    def only_while(self, is_current: Callable[[], bool]) -> TransportCallbacks:
        """The same callbacks, each ignored once `is_current()` is false (the session has
        moved on to another room while this one's events are still arriving)."""

        def guarded(handler: Callable[..., None]) -> Callable[..., None]:
            def call(*args: Any) -> None:
                if is_current():
                    handler(*args)

            return call

        return TransportCallbacks(
            guarded(self.on_data),
            guarded(self.on_participant),
            guarded(self.on_disconnected),
            guarded(self.on_reconnecting),
            guarded(self.on_reconnected),
        )


def log_room_details(
    *,
    room_url: str,
    room_name: str | None,
    session_id: str,
    character_session_id: str | None,
    token: str,
) -> None:
    """seeds/002 "Find connection details in logs": at debug in the transport category, as a
    JSON line and a readable `Token:` summary, with the token redacted."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    shown = redact_token(token)
    details = {
        "room_url": room_url,
        "room_name": room_name,
        "session_id": session_id,
        "character_session_id": character_session_id,
        "token": shown,
    }
    log.debug("Room details received: %s", json.dumps(details, ensure_ascii=False))
    log.debug(
        "Token: %s | Room URL: %s | Room: %s | Session ID: %s | Character Session ID: %s",
        shown,
        room_url,
        room_name,
        session_id,
        character_session_id,
    )


def _track_names(participant: rtc.Participant) -> tuple[str, ...]:
    names = []
    for pub in participant.track_publications.values():
        kind = "audio" if pub.kind == rtc.TrackKind.KIND_AUDIO else "video"
        names.append(f"{pub.name or kind} ({kind}{', muted' if pub.muted else ''})")
    return tuple(sorted(names))


def _is_muted(participant: rtc.Participant) -> bool:
    audio = [
        p for p in participant.track_publications.values() if p.kind == rtc.TrackKind.KIND_AUDIO
    ]
    return bool(audio) and all(p.muted for p in audio)


def is_character(participant: rtc.Participant, character_id: str) -> bool:
    """Unity's resolution order: identity == character id, metadata keys, agent kind."""
    if participant.identity == character_id:
        return True
    try:
        meta = json.loads(participant.metadata) if participant.metadata else {}
    except ValueError:
        meta = {}
    if isinstance(meta, dict) and any(
        meta.get(k) == character_id for k in _CHARACTER_METADATA_KEYS
    ):
        return True
    return int(participant.kind) == _AGENT_KIND


class RoomTransport:
    """One LiveKit room connection. Create a new one for every (re)join."""

    def __init__(self, character_id: str, callbacks: TransportCallbacks) -> None:
        self._character_id = character_id
        self._cb = callbacks
        self._room = rtc.Room()
        forward_native_logs(native_logs_wanted())
        self._speaking: set[str] = set()
        self._leaving = False
        self.local_identity = ""
        self._wire_events()

    @property
    def room(self) -> rtc.Room:
        """The underlying room, for the audio pipeline (which publishes and subscribes tracks)."""
        return self._room

    def _info(self, participant: rtc.Participant, *, local: bool = False) -> ParticipantInfo:
        if local:
            kind = "local_player"
        elif is_character(participant, self._character_id):
            kind = "character"
        else:
            kind = "remote_player"
        return ParticipantInfo(
            identity=participant.identity,
            name=participant.name or participant.identity,
            kind=kind,
            sid=participant.sid,
            muted=_is_muted(participant),
            speaking=participant.identity in self._speaking,
            tracks=_track_names(participant),
            quality=_QUALITY.get(participant.connection_quality, ""),
        )

    def _wire_events(self) -> None:
        room = self._room

        def updated(participant: rtc.Participant, *_: object) -> None:
            local = participant.identity == self.local_identity
            self._cb.on_participant("updated", self._info(participant, local=local))

        @on_room(room, "participant_connected")
        def _joined(participant: rtc.RemoteParticipant) -> None:
            self._cb.on_participant("joined", self._info(participant))

        @on_room(room, "participant_disconnected")
        def _left(participant: rtc.RemoteParticipant) -> None:
            self._speaking.discard(participant.identity)
            self._cb.on_participant("left", self._info(participant))

        @on_room(room, "track_published")
        def _published(_pub: object, participant: rtc.RemoteParticipant) -> None:
            updated(participant)

        @on_room(room, "track_unpublished")
        def _unpublished(_pub: object, participant: rtc.RemoteParticipant) -> None:
            updated(participant)

        @on_room(room, "track_muted")
        def _muted(participant: rtc.Participant, _pub: object) -> None:
            updated(participant)

        @on_room(room, "track_unmuted")
        def _unmuted(participant: rtc.Participant, _pub: object) -> None:
            updated(participant)

        @on_room(room, "local_track_published")
        def _local_published(*_: object) -> None:
            updated(room.local_participant)

        @on_room(room, "connection_quality_changed")
        def _quality(participant: rtc.Participant, _quality: object) -> None:
            updated(participant)

        @on_room(room, "active_speakers_changed")
        def _speakers(speakers: list[rtc.Participant]) -> None:
            now = {p.identity for p in speakers}
            changed = now ^ self._speaking
            self._speaking = now
            for participant in [room.local_participant, *room.remote_participants.values()]:
                if participant.identity in changed:
                    updated(participant)

        @on_room(room, "data_received")
        def _data(packet: rtc.DataPacket) -> None:
            sender = packet.participant.identity if packet.participant else None
            self._cb.on_data(packet.data, sender)

        @on_room(room, "disconnected")
        def _disconnected(reason: int) -> None:
            if not self._leaving:
                self._cb.on_disconnected(int(reason))

        @on_room(room, "reconnecting")
        def _reconnecting() -> None:
            if not self._leaving:
                self._cb.on_reconnecting()

        @on_room(room, "reconnected")
        def _reconnected() -> None:
            if not self._leaving:
                self._cb.on_reconnected()

    async def join(self, url: str, token: str, timeout_s: float) -> float:
        """Join the room; returns how long it took (ms). Raises ConvaiError(transport.*)."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout_s):
                await self._room.connect(url, token, rtc.RoomOptions(auto_subscribe=True))
        except TimeoutError:
            await self._quiet_disconnect()
            raise ConvaiError(
                make_error(
                    "transport.livekit_error",
                    f"Joining the LiveKit room at {url} took longer than {timeout_s:g} s.",
                )
            ) from None
        except Exception as exc:  # the FFI raises ConnectError and plain exceptions alike
            await self._quiet_disconnect()
            text = redact(str(getattr(exc, "message", "") or exc or type(exc).__name__))
            code = (
                "transport.join_failure"
                if any(w in text.lower() for w in ("401", "unauthorized", "invalid token"))
                else "transport.livekit_error"
            )
            raise ConvaiError(
                make_error(code, f"Could not join the LiveKit room at {url}: {text}")
            ) from None
        self.local_identity = self._room.local_participant.identity
        return (time.monotonic() - started) * 1000

    def participants(self) -> list[ParticipantInfo]:
        out = [self._info(self._room.local_participant, local=True)]
        out.extend(self._info(p) for p in self._room.remote_participants.values())
        return out

    async def send(self, payload: bytes) -> None:
        try:
            await self._room.local_participant.publish_data(payload, reliable=True)
        except Exception as exc:
            raise ConvaiError(
                make_error(
                    "transport.livekit_error", f"Sending a data message failed: {redact(str(exc))}"
                )
            ) from None

    async def leave(self) -> None:
        self._leaving = True
        await self._quiet_disconnect()

    def is_connected(self) -> bool:
        """The room is joined and not being left: a message sent now can arrive."""
        return not self._leaving and self._room.isconnected()

    async def _quiet_disconnect(self) -> None:
        self._leaving = True
        await leave_within(self._room, LEAVE_WITHIN_S)

    async def inbound_packets(self) -> int | None:
        """Packets received so far on the room's WebRTC transports, or None when unknown."""
        signals = await self.link_signals()
        return signals.packets if signals is not None else None

    async def link_signals(self) -> LinkSignals | None:
        """What says the link is alive, read from WebRTC stats for the link watchdog: packets
        on the transports, the ICE consent checks (STUN requests and responses) of the
        selected candidate pairs, and whether the connection, ICE/DTLS and the data channels
        are up -- the last two hold even when the character publishes nothing. None when
        unknown."""
        if self._leaving or not self._room.isconnected():
            return None
        try:
            async with asyncio.timeout(2):  # not wait_for: it can swallow the leave's cancel
                stats = await self._room.get_rtc_stats()
        except Exception:
            return None
        packets = checks = 0
        transports_up = channels_open = True
        saw_channel = False
        for report in [*stats.publisher_stats, *stats.subscriber_stats]:
            which = report.WhichOneof("stats")
            if which == "transport":
                transport = report.transport.transport
                packets += int(transport.packets_received)
                transports_up &= transport.ice_state not in _ICE_DOWN and (
                    transport.dtls_state not in _DTLS_DOWN
                )
            elif which == "candidate_pair" and report.candidate_pair.candidate_pair.nominated:
                pair = report.candidate_pair.candidate_pair
                checks += int(pair.requests_received) + int(pair.responses_received)
            elif which == "data_channel":
                saw_channel = True
                channels_open &= report.data_channel.dc.state == _DC_OPEN
        connected = self._room.connection_state == rtc.ConnectionState.CONN_CONNECTED
        return LinkSignals(
            packets=packets,
            consent_checks=checks,
            up=connected and transports_up and (channels_open or not saw_channel),
        )

    async def get_rtc_stats(self) -> rtc.RtcStats | None:
        """The room's WebRTC stats for the link sampler (core/link/stats.py); None once left."""
        if self._leaving or not self._room.isconnected():
            return None
        return await self._room.get_rtc_stats()

    async def rtc_stats(self) -> dict[str, float]:
        """A few figures from WebRTC stats (round-trip time, jitter, packets lost), if any."""
        if not self._room.isconnected():
            return {}
        try:
            async with asyncio.timeout(2):  # not wait_for: it can swallow the leave's cancel
                stats = await self._room.get_rtc_stats()
        except Exception:
            return {}
        figures: dict[str, float] = {}
        try:
            _collect_figures(stats, figures)
        except (AttributeError, ValueError):  # stats fields vary between SDK versions
            pass
        return figures


_abandoned_leaves = 0


def abandoned_leaves() -> int:
    """How many leaves this process gave up waiting for (leave_within's deadline hit)."""
    return _abandoned_leaves


async def leave_within(
    room: rtc.Room, seconds: float, last_resort_s: float = LEAVE_LAST_RESORT_S
) -> bool:
    """Leave `room`, waiting at most `seconds`; True when LiveKit confirmed it in time.

    `room.disconnect()` can block when the server deletes the room while the client is leaving
    it. A wait on the event loop bounds it; should the loop itself be stuck in LiveKit's native
    code, the process ends `last_resort_s` later from a watchdog thread. Best effort otherwise:
    a room that is already gone is left."""
    global _abandoned_leaves
    with end_process_after(seconds + last_resort_s, "leaving the LiveKit room"):
        try:
            async with asyncio.timeout(seconds):  # not wait_for: it can swallow a cancel
                await room.disconnect()
        except TimeoutError:
            _abandoned_leaves += 1
            log.warning(
                "leaving the LiveKit room took longer than %g s; going on without it (%d so far)",
                seconds,
                _abandoned_leaves,
            )
            return False
        except Exception as exc:  # the room may already be gone
            log.debug("room disconnect: %s", exc)
    return True


_ICE_DOWN = frozenset({rtc_stats.ICE_TRANSPORT_FAILED, rtc_stats.ICE_TRANSPORT_CLOSED})
_DTLS_DOWN = frozenset({rtc_stats.DTLS_TRANSPORT_FAILED, rtc_stats.DTLS_TRANSPORT_CLOSED})
_DC_OPEN = rtc_stats.DC_OPEN


def _collect_figures(stats: rtc.RtcStats, figures: dict[str, float]) -> None:
    for report in [*stats.publisher_stats, *stats.subscriber_stats]:
        which = report.WhichOneof("stats")
        if which == "candidate_pair" and report.candidate_pair.candidate_pair.nominated:
            rtt = report.candidate_pair.candidate_pair.current_round_trip_time
            figures["rtt_ms"] = rtt * 1000
        elif which == "inbound_rtp" and report.inbound_rtp.stream.kind == "audio":
            figures["jitter_ms"] = report.inbound_rtp.received.jitter * 1000
            figures["packets_lost"] = float(report.inbound_rtp.received.packets_lost)
