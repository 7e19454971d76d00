"""The character bot: one LiveKit participant per room that speaks Convai's RTVI dialect.

It greets each client (``interaction-created`` then ``bot-ready``), acks every client packet
with exactly one ``server-response``, answers text turns with the documented turn sequence
(protocol §2.5) and speech on its audio track, and runs the idle, usage-limit and server-error
timers. Ending a session is not its business: it asks the session manager through
``CharacterEvents.request_end`` and the manager deletes the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np
from livekit import api, rtc

from convai_tui.local import rtvi, speech
from convai_tui.local.faults import Faults
from convai_tui.local.livekit_server import LiveKitBackend
from convai_tui.local.send_queue import SendQueueEstimate

log = logging.getLogger(__name__)

BOT_TRACK_NAME = "character-voice"
_WORD_INTERVAL_S = 0.025
_CLOSE_AFTER_NOTICE_S = 0.5
"""Gap between a closing notice and the room deletion, so the notice reaches the client."""
_INTERRUPT_DEBOUNCE_S = 0.3
_ACTIVE = 2  # ParticipantInfo.State.ACTIVE: the participant can receive data
_ECHO_QUEUE_MAX_S = 0.02
"""Echo mode's bound on audio waiting to be sent: WebRTC takes 10 ms every 10 ms, so frames the
receiver hands over in a burst would otherwise stay queued, late, for the rest of the session."""
_CONTEXT_MAX_TOKENS = 50_000
_STATIC_MAX_TOKENS = 20_000
_RUNTIME_MAX_TOKENS = 30_000

UserAudioHook = Callable[["Character", rtc.RemoteAudioTrack, rtc.RemoteParticipant],
                         Awaitable[None]]
"""Runs for each client audio track (voice turns); it calls ``handle_user_utterance``."""


DEFAULT_TRIGGERS = frozenset({"greet", "farewell"})
"""Trigger names the demo character knows, as a dashboard would define them."""
_RUN_LLM = {"true": "true", "false": "false", "auto": "auto", True: "true", False: "false"}


@dataclass(frozen=True)
class CharacterProfile:
    character_id: str
    display_name: str = "Ada"
    triggers: frozenset[str] = DEFAULT_TRIGGERS


class CharacterEvents(Protocol):
    """How a bot reports to the session manager."""

    def client_joined(self, room_name: str, identity: str) -> None: ...
    def client_left(self, room_name: str, identity: str) -> None: ...
    def request_end(self, room_name: str, reason: str) -> None: ...


def compose_reply(user_text: str) -> str:
    """The bot's answer; it quotes the user so tests and demos can see the round trip."""
    quoted = " ".join(user_text.split())
    if len(quoted) > 400:
        quoted = quoted[:399] + "…"
    return f'You said: "{quoted}". I\'m the local stand-in character, happy to help.'


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _token_estimate(text: str) -> int:
    return math.ceil(len(text.split()) * 1.3)


class _Turn:
    def __init__(self) -> None:
        self.interrupted = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


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
    ) -> None:
        self._backend = backend
        self.room_name = room_name
        self.profile = profile
        self.character_session_id = character_session_id
        self._faults = faults
        self._events = events
        self._user_audio_hook = user_audio_hook
        self.interaction_id = "int_" + uuid.uuid4().hex[:24]
        self.room = rtc.Room()
        self._source = rtc.AudioSource(speech.SAMPLE_RATE, 1)
        self._inbox: asyncio.Queue[rtc.DataPacket] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._turn: _Turn | None = None
        self._greeted: set[str] = set()
        self._closing = False
        self._last_interrupt = 0.0
        self.echo_frames_dropped = 0
        self._send_queue = SendQueueEstimate()
        # Conversation state the acks report on.
        self.tts_enabled = tts_enabled
        self.stt_muted = False
        """Voice turns (local/voice.py) must ignore the user's audio while this is true."""
        self.force_user_stopped_speaking = asyncio.Event()
        """Set by ``force-user-stopped-speaking``: a voice-turn hook ends the utterance now."""
        self.turns_completed = 0
        self.template_keys: dict[str, str] = {}
        self.scene_metadata: list[Any] = []
        self.dynamic_info: str | None = None
        self._runtime_tokens = 0
        self._context_revision = 0
        self._usage_limit_hit = False
        self._server_error_sent = False
        # Idle clock (starts when the first client is greeted).
        self._idle_started = False
        self._last_activity = time.monotonic()
        self._idle_warned = False
        self._idle_deadline: float | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def _token(self) -> str:
        metadata = json.dumps({"character_id": self.profile.character_id,
                               "convai_character_id": self.profile.character_id})
        return (
            api.AccessToken(self._backend.api_key, self._backend.api_secret)
            .with_identity(self.profile.character_id)
            .with_name(f"{self.profile.display_name} (local stand-in)")
            .with_kind("agent")
            .with_metadata(metadata)
            .with_grants(api.VideoGrants(room_join=True, room=self.room_name,
                                         can_publish=True, can_subscribe=True,
                                         can_publish_data=True))
            .to_jwt()
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
        track = rtc.LocalAudioTrack.create_audio_track(BOT_TRACK_NAME, self._source)
        publish_options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await room.local_participant.publish_track(track, publish_options)
        self._spawn(self._serve_inbox())
        self._spawn(self._idle_loop())
        for participant in list(room.remote_participants.values()):
            if self._is_client(participant) and participant.state == _ACTIVE:
                self._events.client_joined(self.room_name, participant.identity)
                self._spawn(self.greet(participant.identity))

    async def stop(self) -> None:
        """Leave the room and stop every task; safe to call more than once."""
        self._closing = True
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.room.disconnect(), 3.0)
        with contextlib.suppress(Exception):
            await self._source.aclose()
        if self.echo_frames_dropped:
            log.info("room %s: echo dropped %d late frames to stay within %.0f ms",
                     self.room_name, self.echo_frames_dropped, 1000 * _ECHO_QUEUE_MAX_S)

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("bot task failed in room %s", self.room_name, exc_info=task.exception())

    # -- participants ---------------------------------------------------------------------------
    @staticmethod
    def _is_client(participant: rtc.RemoteParticipant) -> bool:
        return participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT

    def client_identities(self) -> list[str]:
        return [p.identity for p in self.room.remote_participants.values() if self._is_client(p)]

    def _on_participant_active(self, participant: rtc.RemoteParticipant) -> None:
        if self._is_client(participant) and not self._closing:
            self._events.client_joined(self.room_name, participant.identity)
            self._spawn(self.greet(participant.identity))

    def _on_participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        if self._is_client(participant):
            self.forget(participant.identity)
            self._events.client_left(self.room_name, participant.identity)

    def _on_disconnected(self, reason: int) -> None:
        # The SFU dropped us (e.g. livekit-server restarted): the pipeline is gone, so are the
        # sessions of this room. Our own stop() sets _closing first and does not get here.
        if not self._closing:
            self._closing = True
            log.warning("bot of room %s was disconnected (reason %s)", self.room_name, reason)
            self._events.request_end(self.room_name, "livekit_disconnected")

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        hook = self._user_audio_hook
        if hook is not None and isinstance(track, rtc.RemoteAudioTrack) and self._is_client(
            participant
        ):
            self._spawn(hook(self, track, participant))

    def forget(self, identity: str) -> None:
        """The client left: greet it again if it comes back."""
        self._greeted.discard(identity)

    async def greet(self, identity: str) -> None:
        """``interaction-created`` then ``bot-ready``, once per client presence."""
        if identity in self._greeted or self._closing:
            return
        self._greeted.add(identity)
        await self.send(
            rtvi.form_b("interaction-created", interaction_id=self.interaction_id,
                        character_session_id=self.character_session_id),
            to=identity,
        )
        await self._send_bot_ready(identity)
        if not self._idle_started:
            self._idle_started = True
            self._touch()

    async def _send_bot_ready(self, identity: str | None) -> None:
        await self.send(
            rtvi.form_a("bot-ready", {"version": "1.0.0",
                                      "about": {"library": "convai-tui-standin"}}),
            to=identity,
        )

    # -- sending ------------------------------------------------------------------------------
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

    async def _ack(
        self,
        to: str | None,
        event_type: str,
        status: str,
        message: str | None = None,
        extras: dict[str, Any] | None = None,
    ) -> None:
        wrapped = self._faults.response_form == "wrapped"
        await self.send(rtvi.server_response(event_type, status, message, extras,
                                             wrapped=wrapped), to=to)

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
        self._touch()
        try:
            message = rtvi.parse_client_packet(payload)
        except rtvi.ParseFailure:
            await self._ack(sender, "parse-error", "error", rtvi.PARSE_ERROR_MESSAGE)
            return
        except rtvi.MissingType as missing:
            await self._ack(sender, "validation-error", "error", rtvi.MISSING_TYPE_MESSAGE,
                            {"received_message": missing.received})
            return
        if message.type == "client-ready":
            await self._ack(sender, "client-ready", "success", "Client ready")
            await self._send_bot_ready(sender)
            return
        if message.type not in rtvi.SUPPORTED_TYPES:
            await self._ack(sender, message.type, "error",
                            f"Unknown message type: {message.type}",
                            {"supported_types": list(rtvi.SUPPORTED_TYPES)})
            return
        if self._usage_limit_hit:
            await self._ack(sender, message.type, "error", "Usage limit exceeded")
            return
        if not isinstance(message.data, dict):
            await self._ack(sender, message.type, "error",
                            f"Failed to process {message.type}: data must be an object")
            return
        handler = self._HANDLERS[message.type]
        await handler(self, message, sender)

    # Each handler sends exactly one ack, then does its work.
    async def _on_user_text(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        text = message.data.get("text")
        if not isinstance(text, str) or not text.strip():
            await self._ack(sender, message.type, "error",
                            "Failed to process user_text_message: No text provided")
            return
        await self._ack(sender, message.type, "success", "User text message processed",
                        {"text": text})
        message_id = message.data.get("message_id") or message.message_id
        self._start_turn(compose_reply(text), echo_text=text, sender=sender,
                         message_id=message_id if isinstance(message_id, str) else None)

    async def _on_trigger(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        name = message.data.get("trigger_name")
        text = message.data.get("trigger_message")
        if (name is not None and not isinstance(name, str)) or (
            text is not None and not isinstance(text, str)
        ):
            await self._ack(sender, message.type, "error",
                            "Failed to process trigger-message: trigger fields must be strings")
            return
        extras = {"trigger_name": name, "has_speak_tag": False}
        # Protocol §2.2: a name the character does not define is silently ignored.
        if not text and name not in self.profile.triggers:
            await self._ack(sender, message.type, "success",
                            "Trigger message processed without response", extras)
            return
        await self._ack(sender, message.type, "success", "Trigger message processed", extras)
        subject = text or name or ""
        self._start_turn(f'Trigger "{subject}" received. I\'m the local stand-in character.',
                         echo_text=None, sender=sender, message_id=None)

    async def _on_template_keys(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        keys = message.data.get("template_keys")
        if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
            await self._ack(sender, message.type, "error",
                            "Failed to process update-template-keys: template_keys must map "
                            "names to strings")
            return
        self.template_keys = dict(keys)
        await self._ack(sender, message.type, "success", "Template keys updated")

    async def _on_scene_metadata(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        scene = message.data.get("scene_metadata", message.data.get("metadata"))
        if not isinstance(scene, list):
            await self._ack(sender, message.type, "error",
                            "Failed to process update-scene-metadata: scene_metadata must be a "
                            "list")
            return
        self.scene_metadata = scene
        await self._ack(sender, message.type, "success", "Scene metadata updated")

    async def _on_dynamic_info(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        info = message.data.get("dynamic_info")
        text = info.get("text") if isinstance(info, dict) else None
        if not isinstance(text, str) or not text:
            await self._ack(sender, message.type, "error", "No text provided in dynamic info")
            return
        self.dynamic_info = text
        await self._ack(sender, message.type, "success", "Dynamic info updated")

    async def _on_context_update(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        data = message.data
        mode = data.get("mode", "append")
        text = data.get("text", "")
        raw_run_llm = data.get("run_llm", "auto")
        run_llm = _RUN_LLM.get(raw_run_llm) if isinstance(raw_run_llm, str | bool) else None
        if mode not in ("append", "replace", "reset") or not isinstance(text, str):
            await self._ack(sender, message.type, "error",
                            "Failed to process context-update: mode must be append, replace or "
                            "reset and text a string")
            return
        if run_llm is None:
            await self._ack(sender, message.type, "error",
                            "Failed to process context-update: run_llm must be true, false or "
                            "auto")
            return
        tokens = _token_estimate(text)
        if mode == "append":
            self._runtime_tokens += tokens
        elif mode == "replace":
            self._runtime_tokens = tokens
        else:
            self._runtime_tokens = 0
        self._runtime_tokens = min(self._runtime_tokens, _RUNTIME_MAX_TOKENS)
        self._context_revision += 1
        extras: dict[str, Any] = {
            "token_count": self._runtime_tokens,
            "static_token_count": 0,
            "runtime_token_count": self._runtime_tokens,
            "max_tokens": _CONTEXT_MAX_TOKENS,
            "static_max_tokens": _STATIC_MAX_TOKENS,
            "runtime_max_tokens": _RUNTIME_MAX_TOKENS,
            "remaining_tokens": _CONTEXT_MAX_TOKENS - self._runtime_tokens,
            "revision": self._context_revision,
            "duplicate": False,
        }
        if isinstance(data.get("update_id"), str):
            extras["update_id"] = data["update_id"]
        # "auto" leaves the decision to the server; the stand-in answers only when asked.
        respond = run_llm == "true"
        extras.update(requested_run_llm=run_llm, actual_run_llm=respond, llm_triggered=respond)
        if run_llm == "auto":
            extras["downgrade_reason"] = "auto: no response needed for a context update"
        await self._ack(sender, message.type, "success", "Context updated", extras)
        if respond:
            self._start_turn(f"Noted ({mode} context). I'm the local stand-in character.",
                             echo_text=None, sender=sender, message_id=None)

    async def _on_tts_toggle(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        enabled = message.data.get("enabled")
        if not isinstance(enabled, bool):
            await self._ack(sender, message.type, "error",
                            "Failed to process tts-toggle: enabled must be a boolean")
            return
        self.tts_enabled = enabled
        await self._ack(sender, message.type, "success",
                        "TTS enabled" if enabled else "TTS disabled", {"enabled": enabled})

    async def _on_stt_toggle(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        muted = message.data.get("muted")
        if not isinstance(muted, bool):
            await self._ack(sender, message.type, "error",
                            "Failed to process stt-toggle: muted must be a boolean")
            return
        self.stt_muted = muted
        await self._ack(sender, message.type, "success",
                        "STT muted" if muted else "STT unmuted", {"muted": muted})

    async def _on_kill_pipeline(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        await self._ack(sender, message.type, "success", "Pipeline killed successfully",
                        {"room_name": self.room_name})
        self._end_soon("kill_pipeline")

    async def _on_interrupt(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        now = time.monotonic()
        if now - self._last_interrupt < _INTERRUPT_DEBOUNCE_S:
            await self._ack(sender, message.type, "success",
                            "Bot interrupt debounced (duplicate within window)")
            return
        self._last_interrupt = now
        turn = self._turn
        if turn is not None and turn.task is not None and not turn.task.done():
            turn.interrupted.set()
            await self._ack(sender, message.type, "success", "Bot interrupted")
        else:
            await self._ack(sender, message.type, "success", "Bot not speaking; nothing to "
                                                             "interrupt")

    async def _on_force_stop(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        self.force_user_stopped_speaking.set()
        await self._ack(sender, message.type, "success", "User stopped speaking forced")

    async def _on_reset_idle(self, message: rtvi.ClientMessage, sender: str | None) -> None:
        await self._ack(sender, message.type, "success", "Idle timer reset")

    _HANDLERS: ClassVar[dict[str, Callable[[Character, rtvi.ClientMessage, str | None],
                                           Awaitable[None]]]] = {
        "user_text_message": _on_user_text,
        "trigger-message": _on_trigger,
        "update-template-keys": _on_template_keys,
        "update-scene-metadata": _on_scene_metadata,
        "update-dynamic-info": _on_dynamic_info,
        "context-update": _on_context_update,
        "tts-toggle": _on_tts_toggle,
        "stt-toggle": _on_stt_toggle,
        "kill-pipeline": _on_kill_pipeline,
        "interrupt-bot": _on_interrupt,
        "force-user-stopped-speaking": _on_force_stop,
        "reset-idle-timer": _on_reset_idle,
    }

    # -- turns --------------------------------------------------------------------------------
    async def handle_user_utterance(self, transcript_text: str) -> None:
        """Voice turns plug in here: the same bot turn as for typed text, without the echo.

        The voice hook is expected to have sent the user-side events (user-started-speaking,
        user-transcription, user-stopped-speaking, final-user-transcription) itself.
        """
        self._touch()
        turn = self._start_turn(compose_reply(transcript_text), echo_text=None, sender=None,
                                message_id=None)
        if turn.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(turn.task)

    def _start_turn(
        self, reply: str, *, echo_text: str | None, sender: str | None, message_id: str | None
    ) -> _Turn:
        previous = self._turn
        turn = _Turn()
        self._turn = turn
        turn.task = self._spawn(self._run_turn(turn, previous, reply, echo_text, sender,
                                               message_id))
        return turn

    async def _run_turn(
        self,
        turn: _Turn,
        previous: _Turn | None,
        reply: str,
        echo_text: str | None,
        sender: str | None,
        message_id: str | None,
    ) -> None:
        # A new user message barges in on the reply still being spoken.
        if previous is not None and previous.task is not None and not previous.task.done():
            previous.interrupted.set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await previous.task
        tts_mode = self._faults.tts if self.tts_enabled else "none"
        # Synthesis starts now so the audio is ready by the time the text has streamed.
        speech_task = asyncio.ensure_future(speech.synthesize(reply, tts_mode))
        try:
            if echo_text is not None:
                await self._send_echo(echo_text, sender, message_id)
            await self.send(rtvi.form_a("bot-llm-started"))
            for index, chunk in enumerate(_chunks(reply)):
                if turn.interrupted.is_set():
                    break
                if index:
                    await asyncio.sleep(_WORD_INTERVAL_S)
                await self.send(rtvi.form_a("bot-llm-text", {"text": chunk}))
            await self.send(rtvi.form_a("bot-llm-stopped"))
            if not turn.interrupted.is_set():
                await self.send(rtvi.form_b("bot-emotion", emotion="happy", scale=2))
                if self.turns_completed % 2 == 0:
                    await self.send(rtvi.form_b("action-response", actions=[{"name": "wave"}]))
                pcm = await _wait_unless(speech_task, turn.interrupted)
                if pcm is not None and pcm.size:
                    await self._speak(pcm, turn)
            await self.send(rtvi.form_b("bot-turn-completed",
                                        was_interrupted=turn.interrupted.is_set()))
        finally:
            speech_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await speech_task
        self.turns_completed += 1
        await self._after_turn()

    async def _send_echo(self, text: str, sender: str | None, message_id: str | None) -> None:
        await self.send(rtvi.form_a("user-started-speaking"))
        await self.send(rtvi.form_a("user-transcription", {
            "text": text, "final": True, "user_id": sender or "", "timestamp": _now_iso()}))
        await self.send(rtvi.form_a("user-stopped-speaking"))
        fields: dict[str, Any] = {"text": text}
        if message_id:
            fields["message_id"] = message_id
        await self.send(rtvi.form_b("final-user-transcription", **fields))

    async def _speak(self, pcm: speech.Pcm, turn: _Turn) -> None:
        await self.send(rtvi.form_a("bot-tts-started"))
        await self.send(rtvi.form_b("bot-started-speaking"))
        frame_samples = speech.FRAME_SAMPLES
        padded = np.concatenate(
            [pcm, np.zeros((-pcm.size) % frame_samples, dtype=np.int16)]
        )
        for start in range(0, padded.size, frame_samples):
            if turn.interrupted.is_set():
                break
            chunk = padded[start : start + frame_samples]
            frame = rtc.AudioFrame(chunk.tobytes(), speech.SAMPLE_RATE, 1, frame_samples)
            await self._capture(frame)
        # capture_frame returns once a frame is queued; wait for the queue to play out.
        if not turn.interrupted.is_set():
            await _wait_unless(asyncio.ensure_future(self._source.wait_for_playout()),
                               turn.interrupted)
        if turn.interrupted.is_set():
            self._source.clear_queue()
            self._send_queue.cleared()
        await self.send(rtvi.form_a("bot-tts-stopped"))
        await self.send(rtvi.form_b("bot-stopped-speaking"))

    async def play_frame(self, frame: rtc.AudioFrame) -> None:
        """Push one 48 kHz mono frame straight onto the voice track (voice.py's echo mode).

        A frame that would take the queue beyond ``_ECHO_QUEUE_MAX_S`` is dropped, so echo
        mode adds no delay of its own."""
        duration_s = frame.samples_per_channel / frame.sample_rate
        if self._send_queue.queued_s() + duration_s > _ECHO_QUEUE_MAX_S:
            self.echo_frames_dropped += 1
            return
        await self._capture(frame)

    async def _capture(self, frame: rtc.AudioFrame) -> None:
        await self._source.capture_frame(frame)
        self._send_queue.added(frame.samples_per_channel / frame.sample_rate)

    async def _after_turn(self) -> None:
        faults = self._faults
        if (faults.server_error_after_turns and not self._server_error_sent
                and self.turns_completed >= faults.server_error_after_turns):
            self._server_error_sent = True
            await self.send_server_error(faults.server_error_fatal,
                                         "Simulated server error (local stand-in)")
        if (faults.usage_limit_after_turns
                and self.turns_completed >= faults.usage_limit_after_turns):
            await self.send_usage_limit()

    # -- closing notices (also driven by the admin routes) --------------------------------------
    def _end_soon(self, reason: str) -> None:
        if self._closing:
            return
        self._closing = True

        async def end_later() -> None:
            await asyncio.sleep(_CLOSE_AFTER_NOTICE_S)
            self._events.request_end(self.room_name, reason)

        self._spawn(end_later())

    async def send_server_error(self, fatal: bool, error: str) -> None:
        await self.send(rtvi.form_a("error", {"error": error, "fatal": fatal}))
        if fatal:
            self._end_soon("fatal_error")

    async def send_usage_limit(self) -> None:
        self._usage_limit_hit = True
        quota_type = self._faults.quota_type
        await self.send(rtvi.form_b(
            "usage-limit-reached", quota_type=quota_type,
            message=f"Usage limit reached ({quota_type}). The session will now close."))
        self._end_soon("usage_limit")

    async def send_session_ending(self, reason: str, *, close: bool = True) -> None:
        await self.send(rtvi.form_b("session-ending", reason=reason))
        if close:
            self._end_soon(reason)

    async def send_malformed(self) -> None:
        """Packets a robust client must survive: not JSON, and JSON with the wrong shapes."""
        await self.send_raw(b"{this is not json")
        await self.send(rtvi.form_a("bot-llm-text", "not-an-object"))  # type: ignore[arg-type]
        await self.send(rtvi.form_b("user-idle-warning", remaining_seconds="soon"))
        await self.send({"label": rtvi.LABEL, "data": {"text": "no type"}})

    # -- idle ---------------------------------------------------------------------------------
    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._idle_warned = False
        self._idle_deadline = None

    async def start_idle_countdown(self, remaining_seconds: float) -> None:
        """Warn now and close after ``remaining_seconds`` unless the client becomes active."""
        self._idle_started = True
        self._idle_deadline = time.monotonic() + remaining_seconds
        self._idle_warned = True
        await self._send_idle_warning(remaining_seconds)

    async def _send_idle_warning(self, remaining: float) -> None:
        seconds = max(0, math.ceil(remaining))
        await self.send(rtvi.form_b(
            "user-idle-warning", remaining_seconds=seconds,
            message=f"You've been idle. You will be disconnected in {seconds} seconds."))

    async def _idle_loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(0.1)
            if not self._idle_started or self._closing:
                continue
            now = time.monotonic()
            deadline = self._idle_deadline
            if deadline is None:
                deadline = self._last_activity + self._faults.idle_timeout_after_s
            warn_at = self._last_activity + self._faults.idle_warning_after_s
            if not self._idle_warned and warn_at <= now < deadline:
                self._idle_warned = True
                await self._send_idle_warning(deadline - now)
            if now >= deadline:
                await self.send_session_ending("idle_timeout")
                return


_T = TypeVar("_T")


async def _wait_unless(task: asyncio.Future[_T], interrupted: asyncio.Event) -> _T | None:
    """The task's result, or None (task cancelled) if the turn is interrupted first."""
    waiter = asyncio.ensure_future(interrupted.wait())
    try:
        pending: set[asyncio.Future[Any]] = {task, waiter}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
    if not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()


def _chunks(reply: str) -> list[str]:
    """Word-sized bot-llm-text chunks whose concatenation is the reply."""
    words = reply.split(" ")
    return [word + " " for word in words[:-1]] + [words[-1]]
