"""The character bot: one LiveKit participant per room that speaks Convai's RTVI dialect.

It greets each client (``interaction-created`` then ``bot-ready``), acks every client packet
with exactly one ``server-response``, answers text turns with the documented turn sequence
(protocol §2.5) and speech on its audio track. The idle, usage-limit and server-error timers
are its ``SessionEnd``'s (session_end.py). Ending a session is not its business: it asks the
session manager through ``CharacterEvents.request_end`` and the manager deletes the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from livekit import rtc

from convai_tui.local.character import rtvi, speech, turns
from convai_tui.local.character.bot_token import bot_token
from convai_tui.local.character.client_messages import (
    BotView,
    CharacterProfile,
    ConversationState,
    EndSession,
    FollowUp,
    ForceUserStopped,
    InterruptTurn,
    SendBotReady,
    StartTurn,
    compose_reply,
    handle_client_packet,
)
from convai_tui.local.character.realism import (
    BotReadyGate,
    error_response,
    sends_client_ready,
)
from convai_tui.local.character.session_end import EndRequests, SessionEnd
from convai_tui.local.character.turns import Turn
from convai_tui.local.character.voice_track import ECHO_QUEUE_MAX_S, VoiceTrack
from convai_tui.local.faults import Faults
from convai_tui.local.sfu.backend import LiveKitBackend
from convai_tui.runtime.task_set import TaskSet

log = logging.getLogger(__name__)

_ACTIVE = 2  # ParticipantInfo.State.ACTIVE: the participant can receive data

UserAudioHook = Callable[
    ["Character", rtc.RemoteAudioTrack, rtc.RemoteParticipant], Awaitable[None]
]
"""Runs for each client audio track (voice turns); it calls ``handle_user_utterance``."""


class CharacterEvents(EndRequests, Protocol):
    """How a bot reports to the session manager (the ending's requests in session_end.py)."""

    def client_joined(self, room_name: str, identity: str) -> None: ...
    def client_left(self, room_name: str, identity: str) -> None: ...
    def client_heard(self, room_name: str) -> None:
        """A client livekit-server has not named to the bot yet sent a packet."""


class Character:
    """The bot participant of one room."""

    def __init__(
        self,
        *,
        backend: LiveKitBackend,
        room_name: str,
        profile: CharacterProfile,
        character_session_id: str,
        faults: Faults,
        events: CharacterEvents,
        user_audio_hook: UserAudioHook | None = None,
        tts_enabled: bool = True,
        request: dict[str, Any] | None = None,
    ) -> None:
        self._backend = backend
        self.room_name = room_name
        self.profile = profile
        self.character_session_id = character_session_id
        self._faults = faults
        self._events = events
        self._user_audio_hook = user_audio_hook
        self.request: dict[str, Any] = request or {}
        """The /connect body that started the room (emotion_config, action_config, debug)."""
        self.gate = BotReadyGate(
            faults,
            self._send_bot_ready,
            client_ready_expected=sends_client_ready(self.request),
        )
        self.interaction_id = "int_" + uuid.uuid4().hex[:24]
        self.room = rtc.Room()
        # Echo mode forwards the user's frames as they arrive (its hook says so).
        live = bool(getattr(user_audio_hook, "live_voice", False))
        self._voice = VoiceTrack(speech.voice_for(profile.character_id), live=live)
        self._inbox: asyncio.Queue[rtc.DataPacket] = asyncio.Queue()
        self._tasks = TaskSet(log, f"bot task failed in room {room_name}")
        self._turn: Turn | None = None
        self._greeted: set[str] = set()
        self._greeted_early = False
        """interaction-created went to a client not yet announced (its greet skips it)."""
        self.state = ConversationState(tts_enabled=tts_enabled)
        """What the client messages change and the acks report on (client_messages.py)."""
        self.force_user_stopped_speaking = asyncio.Event()
        """Set by ``force-user-stopped-speaking``: a voice-turn hook ends the utterance now."""
        self.turns_completed = 0
        self.asr_spent_ms: float | None = None
        """The speech-to-text time the last utterance really spent (voice.py), for its trace."""
        self._ending = SessionEnd(self, faults=faults, events=events, tasks=self._tasks)
        """The idle clock, the closing notices and the room's deletion (session_end.py)."""

    # -- lifecycle ----------------------------------------------------------------------------
    def _token(self) -> str:
        metadata = {
            "character_id": self.profile.character_id,
            "convai_character_id": self.profile.character_id,
        }
        return bot_token(
            self._backend,
            room=self.room_name,
            identity=self.profile.character_id,
            name=f"{self.profile.display_name} (local stand-in)",
            metadata=json.dumps(metadata),
        )

    async def start(self) -> None:
        """Join the room, publish the voice track and start serving."""
        room = self.room
        room.on("data_received", self._inbox.put_nowait)
        room.on("participant_active", self._on_participant_active)
        room.on("participant_disconnected", self._on_participant_disconnected)
        room.on("disconnected", self._on_disconnected)
        if self._user_audio_hook is not None:
            room.on("track_subscribed", self._on_track_subscribed)
        # The bot only listens to the user's microphone when voice turns are wired in.
        options = rtc.RoomOptions(auto_subscribe=self._user_audio_hook is not None)
        await room.connect(self._backend.ws_url, self._token(), options)
        track = self._voice.create_track()
        if self._faults.publish_audio_track:
            publish_options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            await room.local_participant.publish_track(track, publish_options)
        self._tasks.spawn(self._serve_inbox())
        self._tasks.spawn(self._ending.idle_loop())
        for participant in list(room.remote_participants.values()):
            if self._is_client(participant) and participant.state == _ACTIVE:
                self._events.client_joined(self.room_name, participant.identity)
                self._tasks.spawn(self.greet(participant.identity))

    async def stop(self) -> None:
        """Leave the room and stop every task; safe to call more than once."""
        self._ending.closing = True
        self.gate.cancel()
        await self._tasks.cancel_all()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.room.disconnect(), 3.0)
        with contextlib.suppress(Exception):
            await self._voice.aclose()
        if self._voice.echo_frames_dropped:
            log.info(
                "room %s: echo dropped %d frames (%s)",
                self.room_name,
                self._voice.echo_frames_dropped,
                "sent during a reply"
                if self._voice.live
                else f"late beyond {1000 * ECHO_QUEUE_MAX_S:.0f} ms",
            )

    @property
    def faults(self) -> Faults:
        return self._faults

    @property
    def strict(self) -> bool:
        """The strict realism profile (local/character/realism.py, local/character/turns.py)."""
        return self._faults.realism == "strict"

    @property
    def voice(self) -> VoiceTrack:
        return self._voice

    # The conversation state under the names voice.py and the live tests read.
    @property
    def tts_enabled(self) -> bool:
        return self.state.tts_enabled

    @property
    def stt_muted(self) -> bool:
        """Voice turns (local/character/voice.py) must ignore the user's audio while this is true."""
        return self.state.stt_muted

    @property
    def template_keys(self) -> dict[str, str]:
        return self.state.template_keys

    @property
    def scene_metadata(self) -> list[Any]:
        return self.state.scene_metadata

    @property
    def dynamic_info(self) -> str | None:
        return self.state.dynamic_info

    # -- participants ---------------------------------------------------------------------------
    @staticmethod
    def _is_client(participant: rtc.RemoteParticipant) -> bool:
        return participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT

    def client_identities(self) -> list[str]:
        return [p.identity for p in self.room.remote_participants.values() if self._is_client(p)]

    def _on_participant_active(self, participant: rtc.RemoteParticipant) -> None:
        if self._is_client(participant) and not self._ending.closing:
            self._events.client_joined(self.room_name, participant.identity)
            self._tasks.spawn(self.greet(participant.identity))

    def _on_participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        if self._is_client(participant):
            self.forget(participant.identity)
            self._events.client_left(self.room_name, participant.identity)

    def _on_disconnected(self, reason: int) -> None:
        # The SFU dropped us (e.g. livekit-server restarted): the pipeline is gone, so are the
        # sessions of this room. Our own stop() sets closing first and does not get here.
        if not self._ending.closing:
            self._ending.closing = True
            log.warning("bot of room %s was disconnected (reason %s)", self.room_name, reason)
            self._events.request_end(self.room_name, "livekit_disconnected")

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        hook = self._user_audio_hook
        if (
            hook is not None
            and isinstance(track, rtc.RemoteAudioTrack)
            and self._is_client(participant)
        ):
            self._tasks.spawn(hook(self, track, participant))

    def _is_greetable(self, identity: str) -> bool:
        participant = self.room.remote_participants.get(identity)
        return participant is not None and self._is_client(participant)

    def forget(self, identity: str) -> None:
        """The client left: greet it again if it comes back."""
        self._greeted.discard(identity)
        self.gate.forget(identity)

    async def greet(self, identity: str) -> None:
        """``interaction-created`` then ``bot-ready``, once per client presence."""
        if identity in self._greeted or self._ending.closing:
            return
        self._greeted.add(identity)
        if not (self._greeted_early and len(self._greeted) == 1):
            await self._send_interaction(identity)
        await self.gate.greeted(identity)
        self._ending.start_idle_clock()

    async def _send_interaction(self, identity: str | None) -> None:
        await self.send(
            rtvi.form_b(
                "interaction-created",
                interaction_id=self.interaction_id,
                character_session_id=self.character_session_id,
            ),
            to=identity,
        )

    # -- sending ------------------------------------------------------------------------------
    async def _send_bot_ready(self, body: dict[str, Any], to: str | None) -> None:
        await self.send(body, to=to)

    async def send(self, message: dict[str, Any], to: str | None = None) -> None:
        """One reliable, topic-less data packet; ``to`` limits delivery to one identity."""
        await self.send_raw(rtvi.encode(message), to=to)

    async def send_raw(self, payload: bytes, to: str | None = None) -> None:
        if self.room.connection_state != rtc.ConnectionState.CONN_CONNECTED:
            return
        destinations = [to] if to else []
        try:
            await self.room.local_participant.publish_data(
                payload, reliable=True, destination_identities=destinations
            )
        except Exception as exc:  # the room may be closing under us
            log.debug("publish_data failed in %s: %s", self.room_name, exc)

    # -- inbound ------------------------------------------------------------------------------
    async def _serve_inbox(self) -> None:
        # One consumer keeps acks in arrival order; turns run in their own tasks so an
        # interrupt-bot is handled while the bot is still talking.
        while True:
            packet = await self._inbox.get()
            sender = self._sender_of(packet)
            try:
                await self._handle_packet(packet.data, sender)
            except Exception:
                log.exception("failed to handle a client packet in %s", self.room_name)

    def _sender_of(self, packet: rtc.DataPacket) -> str | None:
        if packet.participant is not None:
            return packet.participant.identity
        # The SDK only names senders it has been told about, and livekit-server announces
        # non-publishing participants seconds late. Until then, a room with one greeted
        # client can only have heard from that client; otherwise reply to everyone.
        if len(self._greeted) == 1:
            return next(iter(self._greeted))
        return None

    async def _handle_packet(self, payload: bytes, sender: str | None) -> None:
        self._ending.touch()
        # A client that speaks is in the room, even before the SFU announced it to us.
        if sender is None:
            self._events.client_heard(self.room_name)
        else:
            self._events.client_joined(self.room_name, sender)
        if self.strict and await self._rtvi_layer(payload, sender):
            return
        turn = self._turn
        view = BotView(
            profile=self.profile,
            room_name=self.room_name,
            now=time.monotonic(),
            speaking=turn is not None and turn.task is not None and not turn.task.done(),
        )
        outcome = handle_client_packet(self.state, payload, view)
        then = outcome.then
        if then is not None and then.before_ack:
            await self._follow_up(then, sender)
        ack = outcome.ack
        wrapped = self._faults.response_form == "wrapped"
        await self.send(
            rtvi.server_response(
                ack.event_type, ack.status, ack.message, ack.extras, wrapped=wrapped
            ),
            to=sender,
        )
        if then is not None and not then.before_ack:
            await self._follow_up(then, sender)

    async def _rtvi_layer(self, payload: bytes, sender: str | None) -> bool:
        """Pipecat's layer before Convai's handler: the handshake (no ack) and error-response
        for labelled types it does not know. True when the packet was its alone."""
        try:
            message = rtvi.parse_client_packet(payload)
        except (rtvi.ParseFailure, rtvi.MissingType):
            return False
        if message.type == "client-ready":
            # interaction-created precedes bot-ready. livekit-server announces a participant
            # that publishes nothing seconds late, so an unnamed sender is greeted to all.
            if sender is None and not self._greeted and not self._greeted_early:
                self._greeted_early = True
                await self._send_interaction(None)
            elif sender is not None and self._is_greetable(sender):
                await self.greet(sender)
            await self.gate.client_ready(message, sender)
            return True
        error = error_response(message)
        if error is not None:
            await self.send(error, to=sender)
        return False

    async def _follow_up(self, then: FollowUp, sender: str | None) -> None:
        if isinstance(then, SendBotReady):  # lenient: client-ready acked, bot-ready again
            if sender in self._greeted:  # (greeting a client sends its first bot-ready)
                ready = rtvi.ClientMessage("client-ready", {}, then.message_id)
                await self.gate.client_ready(ready, sender)
        elif isinstance(then, StartTurn):
            self._start_turn(
                then.reply,
                echo_text=then.echo_text,
                sender=sender,
                message_id=then.message_id,
                heard=then.echo_text,
            )
        elif isinstance(then, EndSession):
            self._ending.end_soon(then.reason)
        elif isinstance(then, InterruptTurn):
            if self._turn is not None:
                self._turn.interrupted.set()
        elif isinstance(then, ForceUserStopped):
            self.force_user_stopped_speaking.set()

    # -- turns --------------------------------------------------------------------------------
    async def handle_user_utterance(self, transcript_text: str) -> None:
        """Voice turns plug in here: the same bot turn as for typed text, without the echo.

        The voice hook is expected to have sent the user-side events (user-started-speaking,
        user-transcription, user-stopped-speaking, final-user-transcription) itself.
        """
        self._ending.touch()
        turn = self._start_turn(
            compose_reply(transcript_text, self.profile.character_id),
            echo_text=None,
            sender=None,
            message_id=None,
            heard=transcript_text,
        )
        if turn.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(turn.task)

    def _start_turn(
        self,
        reply: str,
        *,
        echo_text: str | None,
        sender: str | None,
        message_id: str | None,
        heard: str | None,
    ) -> Turn:
        previous = self._turn
        turn = Turn()
        self._turn = turn
        turn.task = self._tasks.spawn(
            turns.run_turn(self, turn, previous, reply, echo_text, sender, message_id, heard)
        )
        return turn

    async def play_frame(self, frame: rtc.AudioFrame) -> None:
        """Push one 48 kHz mono frame straight onto the voice track (voice.py's echo mode)."""
        await self._voice.play_frame(frame)

    # -- closing notices (the admin routes and turns.py call these; session_end.py sends them) --
    async def after_turn(self) -> None:
        await self._ending.after_turn()

    async def send_server_error(self, fatal: bool, error: str) -> None:
        await self._ending.send_server_error(fatal, error)

    async def send_usage_limit(self) -> None:
        await self._ending.send_usage_limit()

    async def send_session_ending(self, reason: str, *, close: bool = True) -> None:
        await self._ending.send_session_ending(reason, close=close)

    async def start_idle_countdown(self, remaining_seconds: float) -> None:
        """Warn now and close after ``remaining_seconds`` unless the client becomes active."""
        await self._ending.start_idle_countdown(remaining_seconds)

    async def send_malformed(self) -> None:
        """Packets a robust client must survive: not JSON, and JSON with the wrong shapes."""
        await self.send_raw(b"{this is not json")
        await self.send(rtvi.form_a("bot-llm-text", "not-an-object"))  # type: ignore[arg-type]
        await self.send(rtvi.form_b("user-idle-warning", remaining_seconds="soon"))
        await self.send({"label": rtvi.LABEL, "data": {"text": "no type"}})
