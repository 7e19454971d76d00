"""The session orchestrator: state machine, connect retries, waiting room, reconnects, idle,
usage limit, input queueing and metrics. Everything observable leaves as an event on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from livekit import rtc

from convai_tui.core import protocol
from convai_tui.core.bus import EventBus, Subscription
from convai_tui.core.connect_api import (
    MAX_CONNECT_TIMEOUT_S,
    ConnectApiClient,
    ConnectRequest,
    ConnectResponse,
)
from convai_tui.core.controls import summarize
from convai_tui.core.conversation import Conversation
from convai_tui.core.disconnect_reasons import rule_for
from convai_tui.core.errors import ConvaiError, ErrorStage, SessionError, make_error
from convai_tui.core.events import (
    BotReady,
    ConnectAttemptStarted,
    ErrorRaised,
    Event,
    IdleTimerReset,
    IdleWarningReceived,
    InputQueued,
    InputRefused,
    LogRecorded,
    MessageSent,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    RetryCancelled,
    RetryScheduled,
    RoomDetailsReceived,
    RoomJoined,
    ServerResponseReceived,
    SessionEnded,
    SessionEnding,
    SessionStateChanged,
    UsageLimitReached,
    participant_event,
)
from convai_tui.core.link_stats import LinkSampler, LinkThresholds
from convai_tui.core.metrics import SessionMetrics
from convai_tui.core.port import ControlResult, SendOutcome, SessionInfo
from convai_tui.core.redact import REDACTOR, redact_token
from convai_tui.core.retry import RetryPolicy
from convai_tui.core.states import SessionState, is_legal
from convai_tui.core.transport import RoomTransport, TransportCallbacks, log_room_details
from convai_tui.core.turn_timing import TurnTimer

log = logging.getLogger("convai_tui.session")

LINK_POLL_S = 1.0
"""How often the link watchdog reads the WebRTC packet counters."""


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Everything the core needs to run one session; built by config.py from flags/env/file."""

    connect_url: str
    api_key: str
    character_id: str
    connection_timeout_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    character_session_id: str | None = None
    end_user_id: str | None = None
    insecure_http: bool = False
    bot_ready_timeout_s: float = 45.0
    input_queue_limit: int = 8
    input_queue_max_age_s: float = 30.0
    character_name: str | None = None
    link_stall_s: float | None = 5.0
    """No packet at all from the LiveKit server for this long while Connected → Reconnecting
    until packets flow again (LiveKit's own ping timeout is 15 s); None turns the watch off."""
    link: LinkThresholds = field(default_factory=LinkThresholds)
    """When the sampled link counts as degraded (transport.link_degraded)."""


class MediaHook(Protocol):
    """Audio (or anything else) that rides on the room: attached after join, detached before
    leaving. Problems are reported through `on_problem`, never raised into the session."""

    async def attach(self, room: rtc.Room) -> None: ...

    async def detach(self) -> None: ...


CONTROL_TYPES = frozenset({
    "user_text_message", "trigger-message", "context-update", "update-template-keys",
    "update-scene-metadata", "update-dynamic-info", "tts-toggle", "stt-toggle", "interrupt-bot",
    "force-user-stopped-speaking", "reset-idle-timer", "kill-pipeline",
})
LOW_CONTEXT_TOKENS = 5_000


@dataclass(frozen=True, slots=True)
class _Drop:
    """The room connection was lost in a way worth reconnecting after."""

    error: SessionError
    after_shutdown: bool = False


@dataclass(frozen=True, slots=True)
class _End:
    """The session is over; `state` is where it rests (Disconnected or Error)."""

    state: SessionState
    reason: str
    error: SessionError | None = None


def validate_settings(settings: SessionSettings) -> SessionError | None:
    """Configuration errors, found before any network traffic (seeds/000 'config.*')."""
    if not settings.api_key.strip():
        return make_error("config.api_key_missing",
                          "No API key: pass --api-key, set CONVAI_API_KEY or add api_key to "
                          "the config file.")
    if not settings.character_id.strip():
        return make_error("config.character_id_missing",
                          "No character id: pass --character-id, set CONVAI_CHARACTER_ID or add "
                          "character_id to the config file.")
    parts = urlsplit(settings.connect_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return make_error("config.invalid",
                          f"The connect URL {settings.connect_url!r} is not an http(s) URL.")
    if parts.scheme == "http" and not settings.insecure_http and not is_loopback(parts.hostname):
        return make_error("config.insecure_url",
                          f"Refusing to send the API key over plain http to {parts.hostname}; "
                          "use https or pass --insecure-http.")
    if not 0 < settings.connection_timeout_s <= MAX_CONNECT_TIMEOUT_S:
        return make_error("config.invalid",
                          f"The connection timeout must be between 0 and "
                          f"{MAX_CONNECT_TIMEOUT_S:g} s (got {settings.connection_timeout_s:g}).")
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SessionCore:
    """One Convai session. Front ends subscribe to its events and call the SessionPort methods."""

    def __init__(
        self,
        settings: SessionSettings,
        *,
        api_client: ConnectApiClient | None = None,
        transport_factory: Callable[[str, TransportCallbacks], RoomTransport] = RoomTransport,
        media: MediaHook | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        REDACTOR.add_secret(settings.api_key)
        self._bus = EventBus()
        self._api = api_client
        self._transport_factory = transport_factory
        self._media = media
        self._clock = clock
        self._rng = rng or random.Random()
        self._state = SessionState.DISCONNECTED
        self.metrics = SessionMetrics()
        self._transport: RoomTransport | None = None
        self._room: ConnectResponse | None = None
        self._character_session_id = settings.character_session_id
        self._supervisor: asyncio.Task[None] | None = None
        self._outcome: asyncio.Future[_Drop | _End] | None = None
        self._retry_now = asyncio.Event()
        self._finished = False
        self._closed = False
        self._bot_ready = False
        self._bot_ready_timer: asyncio.TimerHandle | None = None
        self._queue: deque[tuple[str, float]] = deque()
        self._pending_acks: dict[str, deque[str]] = {}
        self._ack_waiters: dict[str, asyncio.Future[ServerResponseReceived]] = {}
        self._participants: dict[str, ParticipantInfo] = {}
        self._session_ending_reason: str | None = None
        self._kill_requested = False
        self._idle_deadline: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._conversation = Conversation(self._publish, self.metrics)
        self._connect_started: float | None = None
        self._link_task: asyncio.Task[None] | None = None
        self._link_stalled = False
        self._sdk_reconnecting = False
        self.link = LinkSampler(self._publish, self._raise, settings.link, clock)
        self._turn_timer = TurnTimer(self._publish)

    # --- SessionPort ---------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def info(self) -> SessionInfo:
        return SessionInfo(self.settings.character_id, self.settings.connect_url,
                           self.settings.character_name)

    @property
    def bot_ready(self) -> bool:
        return self._bot_ready

    def subscribe(self) -> Subscription:
        return self._bus.subscribe()

    async def start(self) -> None:
        if self._state is not SessionState.DISCONNECTED:
            self._publish(LogRecorded(level="warning", category="session",
                                      message=f"start() ignored in state {self._state.value}"))
            return
        self._finished = False
        self._set_state(SessionState.CONNECTING)
        self._supervisor = asyncio.create_task(self._supervise(), name="convai-session")

    async def disconnect(self, reason: str = "user") -> None:
        if self._state is SessionState.ERROR:
            self._set_state(SessionState.DISCONNECTED, reason=reason)
            self._finished = False
            return
        if self._state in (SessionState.DISCONNECTED, SessionState.DISCONNECTING):
            return
        if self._finished:
            return
        self._finished = True
        self._set_state(SessionState.DISCONNECTING, reason=reason)
        await self._stop_supervisor()
        await self._leave_room()
        await self._release_server_session()
        self._refuse_queue("the session was disconnected before the character was ready")
        self._set_state(SessionState.DISCONNECTED, reason=reason)
        self._publish(SessionEnded(reason=reason))
        self._finished = False

    async def send_text(self, text: str) -> SendOutcome:
        text = text.strip()
        if not text:
            return self._refuse(text, "Nothing to send: the message is empty.")
        try:
            protocol.build_message("user_text_message", {"text": text})
        except ConvaiError as exc:
            self._publish(ErrorRaised(error=exc.error))
            return self._refuse(text, exc.error.message)
        if self._state is SessionState.CONNECTED and self._bot_ready:
            return await self._send_user_text(text)
        if self._state in (SessionState.CONNECTING, SessionState.RECONNECTING,
                           SessionState.CONNECTED):
            if len(self._queue) >= self.settings.input_queue_limit:
                return self._refuse(text, f"The character is not ready yet and "
                                          f"{len(self._queue)} messages are already waiting.")
            self._queue.append((text, time.monotonic()))
            self._publish(InputQueued(text=text, queue_length=len(self._queue)))
            return SendOutcome("queued", reason="held until the character is ready")
        return self._refuse(text, f"Not connected (the session is {self._state.value}); "
                                  "connect first.")

    async def send_control(self, msg_type: str, data: dict[str, Any] | None = None, *,
                           ack_timeout_s: float = 10.0) -> ControlResult:
        """Send one client message and wait for its server-response (flat or wrapped).

        Nothing is sent unless the session is Connected and the character is ready; the
        refusal says why. Oversize messages are refused before sending.
        """
        if msg_type not in CONTROL_TYPES:
            return ControlResult("refused", f"Unknown control message type {msg_type!r}.")
        try:
            protocol.build_message(msg_type, data or {})
        except ConvaiError as exc:
            self._raise(exc.error)
            return ControlResult("refused", exc.error.message)
        if not (self._state is SessionState.CONNECTED and self._bot_ready):
            why = ("the character is not ready yet" if self._state is SessionState.CONNECTED
                   else f"the session is {self._state.value}")
            self._publish(InputRefused(text=msg_type, reason=f"Not sent: {why}."))
            return ControlResult("refused", f"Not sent: {why}.")
        killing = msg_type == "kill-pipeline"
        if killing:
            self._kill_requested = True  # the room close that follows is the clean end
        message_id = await self._send(msg_type, data or {})
        if message_id is None:
            if killing:
                self._kill_requested = False
            return ControlResult("refused", "The message could not be sent (see the errors).")
        waiter: asyncio.Future[ServerResponseReceived] = (
            asyncio.get_running_loop().create_future())
        self._ack_waiters[message_id] = waiter
        try:
            async with asyncio.timeout(ack_timeout_s):
                ack = await waiter
        except TimeoutError:
            self._raise(make_error("session.ack_timeout",
                                   f"No server-response to {msg_type} within {ack_timeout_s:g} s."))
            return ControlResult("timeout", f"No acknowledgement within {ack_timeout_s:g} s.",
                                 message_id=message_id)
        finally:
            self._ack_waiters.pop(message_id, None)
        if killing and ack.status == "error":
            self._kill_requested = False
        return ControlResult(ack.status, ack.message, ack.extras, message_id)

    async def reset_idle_timer(self) -> None:
        if self._state is SessionState.CONNECTED:
            await self._send("reset-idle-timer", {})
            self._publish(IdleTimerReset(acknowledged=False))

    def retry_now(self) -> None:
        self._retry_now.set()

    def cancel_retry(self) -> None:
        if self._state in (SessionState.CONNECTING, SessionState.RECONNECTING):
            phase = "reconnect" if self._state is SessionState.RECONNECTING else "connect"
            self._publish(RetryCancelled(phase=phase))
            self._spawn(self.disconnect("cancelled"))

    def diagnostics(self) -> dict[str, Any]:
        snap = self.metrics.snapshot(self._clock())
        room = self._room
        snap["state"] = self._state.value
        snap["bot_ready"] = self._bot_ready
        snap["character_id"] = self.settings.character_id
        snap["connect_url"] = self.settings.connect_url
        snap["room"] = {
            "room_url": room.room_url if room else None,
            "room_name": room.room_name if room else None,
            "session_id": room.session_id if room else None,
            "character_session_id": self._character_session_id,
            "request_trace_id": room.request_trace_id if room else None,
            "local_identity": self._transport.local_identity if self._transport else None,
            "token_redacted": redact_token(room.token) if room else None,
            # Shown only when the user explicitly asks to reveal it; never logged or evented.
            "token": room.token if room else None,
        }
        snap["participants"] = [dataclasses.asdict(p) for p in self._participants.values()]
        snap["queued_inputs"] = len(self._queue)
        snap["link"] = self.link.snapshot()
        audio_stats = getattr(self._media, "stats", None)
        if callable(audio_stats):
            try:
                snap["audio"] = audio_stats()
            except Exception as exc:  # diagnostics must never take the session down
                snap["audio"] = {"error": str(exc)}
        return snap

    async def close(self) -> None:
        """Release everything; safe to call more than once (the TUI and the CLI both do)."""
        if self._closed:
            return
        self._closed = True
        if self._state is not SessionState.DISCONNECTED:
            await self.disconnect("closed")
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._api is not None:
            await self._api.aclose()
        self._bus.close()

    # --- media (audio) -------------------------------------------------------------------------

    def attach_media(self, media: MediaHook) -> None:
        """Set the hook that rides on every room join; call before start()."""
        self._media = media

    def emit(self, event: Event) -> None:
        """Publish an event produced outside the core (audio levels)."""
        self._publish(event)

    def report_problem(self, code: str, message: str) -> None:
        """Raise a catalogue error found outside the core (audio devices); never ends the session."""
        self._raise(make_error(code, message))

    def set_muted(self, muted: bool) -> None:
        setter = getattr(self._media, "set_muted", None)
        if setter is not None:
            setter(muted)

    def toggle_mute(self) -> bool:
        if self._media is None:
            self._publish(LogRecorded(level="warning", category="audio",
                                      message="Audio is off (--no-audio): nothing to mute."))
            return False
        self.set_muted(not self.muted)
        return self.muted

    def toggle_push_to_talk(self) -> bool:
        toggle = getattr(self._media, "toggle_push_to_talk", None)
        if toggle is None:
            self._publish(LogRecorded(level="warning", category="audio",
                                      message="Audio is off (--no-audio): no push-to-talk."))
            return False
        is_open = bool(toggle())
        if not is_open and self._state is SessionState.CONNECTED and self._bot_ready:
            # Releasing the talk key ends the user's turn at once (protocol §3, push-to-talk).
            self._spawn(self._send("force-user-stopped-speaking", {}))
        return is_open

    @property
    def muted(self) -> bool:
        return bool(getattr(self._media, "muted", False))

    # --- events and state ----------------------------------------------------------------------

    def _publish(self, event: Event) -> None:
        self._bus.publish(event)

    def _set_state(self, new: SessionState, *, error: SessionError | None = None,
                   reason: str | None = None) -> None:
        old = self._state
        if old is new:
            return
        if not is_legal(old, new):
            log.error("illegal transition %s -> %s ignored", old.value, new.value)
            return
        self._state = new
        session_id = self._room.session_id if self._room else None
        self._publish(SessionStateChanged(old=old, new=new, session_id=session_id, error=error,
                                          reason=reason))

    def _raise(self, error: SessionError) -> SessionError:
        if self._room and not error.session_id:
            error = dataclasses.replace(error, session_id=self._room.session_id)
        self.metrics.record_error(error.code, error.message, error.at)
        self._publish(ErrorRaised(error=error))
        log.info("error %s: %s", error.code, error.message)
        return error

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the supervisor ------------------------------------------------------------------------

    async def _supervise(self) -> None:
        try:
            connected = await self._establish()
            while connected:
                assert self._outcome is not None
                outcome = await self._outcome
                await self._leave_room()
                if isinstance(outcome, _End):
                    await self._finish(outcome)
                    return
                connected = await self._reconnect(outcome)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must end the session visibly, not kill the program
            log.exception("session supervisor failed")
            error = self._raise(make_error("session.invalid_state",
                                           f"Internal error: {type(exc).__name__}: {exc}"))
            await self._leave_room()
            await self._finish(_End(SessionState.ERROR, "internal_error", error))

    async def _establish(self) -> bool:
        self.metrics.started_at = self._clock()
        self._connect_started = time.monotonic()
        config_error = validate_settings(self.settings)
        if config_error is not None:
            error = self._raise(config_error)
            await self._finish(_End(SessionState.ERROR, "config", error))
            return False
        if self._api is None:
            self._api = ConnectApiClient(self.settings.connect_url, self.settings.api_key,
                                         timeout_s=self.settings.connection_timeout_s)
        policy = self.settings.retry
        attempt = 0
        waiting_since: float | None = None
        while True:
            attempt += 1
            phase = "waiting_room" if waiting_since is not None else "connect"
            max_attempts = None if waiting_since is not None else policy.max_connect_attempts
            try:
                await self._attempt(phase, attempt, max_attempts)
                return True
            except ConvaiError as exc:
                error = self._raise(exc.error)
                self.metrics.failed_connections += 1
            if not error.recoverable:
                await self._finish(_End(SessionState.ERROR, "connect_failed", error))
                return False
            if policy.uses_waiting_room(error.code):
                now = self._clock()
                waiting_since = waiting_since if waiting_since is not None else now
                if (policy.waiting_room_max_wait_s is not None
                        and now - waiting_since >= policy.waiting_room_max_wait_s):
                    await self._finish(_End(SessionState.ERROR, "waiting_room_timeout", error))
                    return False
                delay = policy.waiting_room_delay(attempt + 1, self._rng)
                phase, max_attempts = "waiting_room", None
            else:
                scheduled = policy.connect_delay(attempt + 1)
                if scheduled is None:
                    await self._finish(_End(SessionState.ERROR, "retries_exhausted", error))
                    return False
                delay = scheduled
            await self._wait_retry(attempt + 1, max_attempts, delay, phase, error, waiting_since)

    async def _reconnect(self, drop: _Drop) -> bool:
        if self._state is not SessionState.RECONNECTING:
            self._set_state(SessionState.RECONNECTING, error=drop.error, reason=drop.error.code)
        self.metrics.reconnects += 1
        await self._release_server_session()
        policy = self.settings.retry
        last = drop.error
        attempt = 0
        while True:
            attempt += 1
            delay = policy.reconnect_delay(attempt, after_shutdown=drop.after_shutdown)
            if delay is None:
                break
            await self._wait_retry(attempt, policy.max_reconnect_attempts, delay, "reconnect",
                                   last, None)
            try:
                await self._attempt("reconnect", attempt, policy.max_reconnect_attempts)
                return True
            except ConvaiError as exc:
                last = self._raise(dataclasses.replace(exc.error,
                                                       stage=ErrorStage.SESSION_RECOVERY))
                self.metrics.failed_connections += 1
            if not last.recoverable:
                await self._finish(_End(SessionState.ERROR, "reconnect_failed", last))
                return False
        final = dataclasses.replace(
            last, message=f"Gave up after {policy.max_reconnect_attempts} reconnect attempts: "
                          f"{last.message}", stage=ErrorStage.SESSION_RECOVERY)
        await self._finish(_End(SessionState.ERROR, "reconnects_exhausted", final))
        return False

    async def _wait_retry(self, attempt: int, max_attempts: int | None, delay: float,
                          phase: str, error: SessionError | None,
                          waiting_since: float | None) -> None:
        now = self._clock()
        self._publish(RetryScheduled(attempt=attempt, max_attempts=max_attempts,
                                     delay_s=round(delay, 3), due_at=now + delay, phase=phase,
                                     error=error, waiting_since=waiting_since))
        self._retry_now.clear()
        if delay <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._retry_now.wait()

    async def _attempt(self, phase: str, attempt: int, max_attempts: int | None) -> None:
        """One /connect plus room join; on success the session is Connected."""
        assert self._api is not None
        self.metrics.connect_attempts += 1
        self._publish(ConnectAttemptStarted(attempt=attempt, max_attempts=max_attempts,
                                            phase=phase))
        request = ConnectRequest(character_id=self.settings.character_id,
                                 character_session_id=self._character_session_id,
                                 end_user_id=self.settings.end_user_id)
        response = await self._api.connect(request)
        self._room = response
        self.metrics.connect_ms = response.elapsed_ms
        if response.character_session_id:
            self._character_session_id = response.character_session_id
        self._publish(RoomDetailsReceived(
            session_id=response.session_id, character_session_id=self._character_session_id,
            room_name=response.room_name, room_url=response.room_url,
            request_trace_id=response.request_trace_id, connect_ms=round(response.elapsed_ms, 1)))
        log_room_details(room_url=response.room_url, room_name=response.room_name,
                         session_id=response.session_id,
                         character_session_id=self._character_session_id, token=response.token)
        self._outcome = asyncio.get_running_loop().create_future()
        self._bot_ready = False
        self._session_ending_reason = None
        self._kill_requested = False
        self._idle_deadline = None
        transport = self._transport_factory(self.settings.character_id,
                                            self._callbacks_for(response.session_id))
        self._transport = transport
        try:
            join_ms = await transport.join(response.room_url, response.token,
                                           self.settings.connection_timeout_s)
        except ConvaiError:
            self._transport = None
            await self._release_server_session()
            raise
        self.metrics.join_ms = join_ms
        self.metrics.successful_connections += 1
        self.metrics.last_connected_at = self._clock()
        self.metrics.connected_since = self._clock()
        self._publish(RoomJoined(room_name=response.room_name,
                                 local_identity=transport.local_identity,
                                 join_ms=round(join_ms, 1)))
        self._set_state(SessionState.CONNECTED)
        for info in transport.participants():
            self._participants[info.identity] = info
            self._publish(participant_event(ParticipantJoined, info))
        loop = asyncio.get_running_loop()
        self._bot_ready_timer = loop.call_later(self.settings.bot_ready_timeout_s,
                                                self._on_bot_ready_timeout)
        self._link_stalled = self._sdk_reconnecting = False
        if self.settings.link_stall_s and hasattr(transport, "inbound_packets"):
            self._link_task = asyncio.create_task(self._watch_link(transport),
                                                  name="convai-link-watch")
        self.link.start(transport)
        if self._media is not None:
            try:
                await self._media.attach(transport.room)
            except Exception as exc:  # audio trouble never ends a session
                self._raise(make_error("audio.mic_publish_failed", f"Audio could not start: {exc}"))

    async def _leave_room(self) -> None:
        if self._bot_ready_timer is not None:
            self._bot_ready_timer.cancel()
            self._bot_ready_timer = None
        link_task, self._link_task = self._link_task, None
        if link_task is not None:
            link_task.cancel()
            with contextlib.suppress(BaseException):
                await link_task
        await self.link.stop()
        transport, self._transport = self._transport, None
        self._bot_ready = False
        self._conversation.set_activity("idle")
        if transport is None:
            return
        if self._media is not None:
            with contextlib.suppress(Exception):
                await self._media.detach()
        await transport.leave()
        for info in list(self._participants.values()):
            self._publish(participant_event(ParticipantLeft, info))
        self._participants.clear()
        self.metrics.connected_since = None

    async def _release_server_session(self) -> None:
        """Tell the server the session is over so its concurrency slot frees at once."""
        if self._room is not None and self._room.session_id and self._api is not None:
            await self._api.disconnect(self._room.session_id)

    async def _stop_supervisor(self) -> None:
        task, self._supervisor = self._supervisor, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _finish(self, end: _End) -> None:
        if self._finished:
            return
        self._finished = True
        await self._release_server_session()
        reason = "the session ended before the character was ready"
        self._refuse_queue(reason)
        if end.state is SessionState.ERROR:
            self._set_state(SessionState.ERROR, error=end.error, reason=end.reason)
        else:
            if self._state is not SessionState.DISCONNECTING:
                self._set_state(SessionState.DISCONNECTING, reason=end.reason)
            self._set_state(SessionState.DISCONNECTED, error=end.error, reason=end.reason)
            self._finished = False
        self._publish(SessionEnded(reason=end.reason, error=end.error))

    def _resolve(self, outcome: _Drop | _End) -> None:
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(outcome)

    # --- transport callbacks -------------------------------------------------------------------

    def _callbacks_for(self, session_id: str) -> TransportCallbacks:
        def current() -> bool:
            return self._room is not None and self._room.session_id == session_id

        def on_data(payload: bytes, sender: str | None) -> None:
            if current():
                self._on_data(payload, sender)

        def on_participant(change: str, info: ParticipantInfo) -> None:
            if current():
                self._on_participant(change, info)

        def on_disconnected(reason: int) -> None:
            if current():
                self._on_disconnected(reason)

        def on_reconnecting() -> None:
            if current():
                self._sdk_reconnecting = True
            if current() and self._state is SessionState.CONNECTED:
                error = self._raise(make_error("transport.signal_disconnected",
                                               "The LiveKit connection dropped; resuming."))
                self._set_state(SessionState.RECONNECTING, error=error, reason="resume")

        def on_reconnected() -> None:
            if current():
                self._sdk_reconnecting = self._link_stalled = False
            if current() and self._state is SessionState.RECONNECTING:
                self.metrics.reconnects += 1
                self._set_state(SessionState.CONNECTED, reason="resumed")
                # Text typed while LiveKit was resuming was queued; the character is still
                # there (a resume keeps the room), so send it now, as link_recovered does.
                if self._bot_ready and self._queue:
                    self._spawn(self._flush_queue())

        return TransportCallbacks(on_data, on_participant, on_disconnected, on_reconnecting,
                                  on_reconnected)

    async def _watch_link(self, transport: RoomTransport) -> None:
        """Connected → Reconnecting when no packet at all arrives for `link_stall_s`, and back
        when they flow again. A frozen or unreachable server goes unnoticed by LiveKit's signal
        ping for 15 s; a healthy link carries STUN, RTCP and SCTP packets several times a
        second even when nobody speaks."""
        stall_after = self.settings.link_stall_s or 0.0
        last_count: int | None = None
        last_change = time.monotonic()
        while self._transport is transport:
            await asyncio.sleep(LINK_POLL_S)
            count = await transport.inbound_packets()
            if count is None or self._transport is not transport:
                continue
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
                if self._link_stalled and not self._sdk_reconnecting:
                    self._link_stalled = False
                    if self._state is SessionState.RECONNECTING:
                        self.metrics.reconnects += 1
                        self._set_state(SessionState.CONNECTED, reason="link_recovered")
                        if self._bot_ready and self._queue:
                            self._spawn(self._flush_queue())
            elif (not self._link_stalled and self._state is SessionState.CONNECTED
                  and now - last_change >= stall_after):
                self._link_stalled = True
                error = self._raise(make_error(
                    "transport.signal_disconnected",
                    f"No packets from the LiveKit server for {now - last_change:.0f} s; "
                    "waiting for the link to come back."))
                self._set_state(SessionState.RECONNECTING, error=error, reason="link_stalled")

    def _on_participant(self, change: str, info: ParticipantInfo) -> None:
        if change == "left":
            self._participants.pop(info.identity, None)
            self._publish(participant_event(ParticipantLeft, info))
            return
        self._participants[info.identity] = info
        cls = ParticipantJoined if change == "joined" else ParticipantUpdated
        self._publish(participant_event(cls, info))

    def _on_disconnected(self, reason: int) -> None:
        if self._kill_requested:
            self._resolve(_End(SessionState.DISCONNECTED, "kill_pipeline", None))
            return
        if self._session_ending_reason is not None or self._idle_expired():
            why = self._session_ending_reason or "idle_timeout"
            self._end_by_server(why)
            return
        rule = rule_for(reason)
        error = self._raise(make_error(rule.code, f"{rule.explanation} ({rule.name})",
                                       stage=ErrorStage.TRANSPORT))
        if rule.retry:
            self._resolve(_Drop(error, after_shutdown=rule.first_delay_s is not None))
        elif rule.name == "CLIENT_INITIATED":
            self._resolve(_End(SessionState.DISCONNECTED, "client_initiated", None))
        else:
            self._resolve(_End(SessionState.ERROR, rule.name.lower(), error))

    def _idle_expired(self) -> bool:
        return self._idle_deadline is not None and self._clock() >= self._idle_deadline - 2.0

    def _end_by_server(self, reason: str) -> None:
        if reason == "idle_timeout":
            error = self._raise(make_error("session.idle_timeout",
                                           "Convai closed the session after the idle warning."))
            self._resolve(_End(SessionState.DISCONNECTED, "idle_timeout", error))
        else:
            self._resolve(_End(SessionState.DISCONNECTED, reason or "ended_by_server", None))

    def _on_bot_ready_timeout(self) -> None:
        self._bot_ready_timer = None
        if not self._bot_ready and self._state is SessionState.CONNECTED:
            error = self._raise(make_error(
                "session.bot_ready_timeout",
                f"No bot-ready within {self.settings.bot_ready_timeout_s:g} s of joining."))
            self._resolve(_Drop(error))

    # --- inbound messages ----------------------------------------------------------------------

    def _on_data(self, payload: bytes, sender: str | None) -> None:
        self.metrics.messages_received += 1
        try:
            message = protocol.parse_inbound(payload)
            self._turn_timer.message(message.type)
            self._dispatch(message)
        except ConvaiError as exc:
            self._raise(exc.error)

    def _dispatch(self, msg: protocol.InboundMessage) -> None:
        handler = _HANDLERS.get(msg.type)
        if handler is not None:
            handler(self, msg)
        elif not self._conversation.handle(msg):
            log.debug("ignoring server message type %s", msg.type)

    def _on_bot_ready(self, msg: protocol.InboundMessage) -> None:
        if self._bot_ready:
            return
        self._bot_ready = True
        if self._bot_ready_timer is not None:
            self._bot_ready_timer.cancel()
            self._bot_ready_timer = None
        since = None
        if self._connect_started is not None:
            since = (time.monotonic() - self._connect_started) * 1000
            if self.metrics.bot_ready_ms is None:
                self.metrics.bot_ready_ms = since
        identity = next((p.identity for p in self._participants.values()
                         if p.kind == "character"), None)
        self._publish(BotReady(participant_identity=identity,
                               since_connect_ms=round(since, 1) if since else None))
        self._conversation.set_activity("listening")
        if self._queue:
            self._spawn(self._flush_queue())

    def _on_server_response(self, msg: protocol.InboundMessage) -> None:
        event_type = protocol.field_str(msg, "event_type") or "unknown"
        status = protocol.field_str(msg, "status") or "unknown"
        if status not in protocol.ACK_STATUSES:
            raise ConvaiError(make_error("protocol.message_invalid",
                                         f"server-response has an unknown status {status!r}."))
        message = msg.data.get("message")
        extras = msg.data.get("extras")
        pending = self._pending_acks.get(event_type)
        message_id = pending.popleft() if pending else None
        ack = ServerResponseReceived(
            event_type=event_type, status=status,
            message=message if isinstance(message, str) else None,
            extras=extras if isinstance(extras, dict) else None, message_id=message_id)
        self._publish(ack)
        waiter = self._ack_waiters.get(message_id) if message_id else None
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)
        remaining = ack.extras.get("remaining_tokens") if ack.extras else None
        if (event_type == "context-update" and isinstance(remaining, int | float)
                and remaining < LOW_CONTEXT_TOKENS):
            self._publish(LogRecorded(
                level="warning", category="context",
                message=f"Context budget low: {remaining:g} tokens remaining "
                        f"(of {ack.extras.get('max_tokens', '?') if ack.extras else '?'})."))
        if event_type == "reset-idle-timer" and status == "success":
            self._idle_deadline = None
            self._publish(IdleTimerReset(acknowledged=True))

    def _on_idle_warning(self, msg: protocol.InboundMessage) -> None:
        remaining = protocol.field_int(msg, "remaining_seconds", required=True) or 0
        self._idle_deadline = self._clock() + remaining
        self._publish(IdleWarningReceived(remaining_seconds=remaining,
                                          message=protocol.field_str(msg, "message"),
                                          deadline=self._idle_deadline))

    def _on_usage_limit(self, msg: protocol.InboundMessage) -> None:
        quota = protocol.field_str(msg, "quota_type")
        text = protocol.field_str(msg, "message")
        self._publish(UsageLimitReached(quota_type=quota, message=text))
        error = self._raise(make_error(
            "server.usage_limit_reached",
            f"Usage limit reached{f' ({quota})' if quota else ''}: {text or 'quota exhausted'}"))
        self._resolve(_End(SessionState.ERROR, "usage_limit", error))

    def _on_server_error(self, msg: protocol.InboundMessage) -> None:
        text = protocol.field_str(msg, "error") or "unspecified server error"
        # A missing `fatal` is treated as fatal, as the Unreal SDK does.
        fatal = protocol.field_bool(msg, "fatal", True)
        code = "server.fatal_error" if fatal else "server.error"
        error = self._raise(make_error(code, f"Convai reported: {text}"))
        if fatal:
            self._resolve(_End(SessionState.ERROR, "fatal_error", error))

    def _on_session_ending(self, msg: protocol.InboundMessage) -> None:
        reason = protocol.field_str(msg, "reason") or "ended_by_server"
        if self._session_ending_reason is None:
            self._publish(SessionEnding(reason=reason))
        self._session_ending_reason = reason
        self._end_by_server(reason)

    def _on_error_response(self, msg: protocol.InboundMessage) -> None:
        self._publish(LogRecorded(level="warning", category="server",
                                  message=f"error-response: {msg.data.get('error')!s:.200}"))

    # --- outbound ------------------------------------------------------------------------------

    def _refuse(self, text: str, reason: str) -> SendOutcome:
        self._publish(InputRefused(text=text, reason=reason))
        return SendOutcome("refused", reason=reason)

    def _refuse_queue(self, reason: str) -> None:
        while self._queue:
            text, _ = self._queue.popleft()
            self._publish(InputRefused(text=text, reason=f"Not sent: {reason}."))

    async def _flush_queue(self) -> None:
        max_age = self.settings.input_queue_max_age_s
        while self._queue and self._state is SessionState.CONNECTED and self._bot_ready:
            text, queued_at = self._queue.popleft()
            if time.monotonic() - queued_at > max_age:
                self._publish(InputRefused(text=text, reason=f"Not sent: the character was not "
                                                             f"ready within {max_age:g} s."))
                continue
            await self._send_user_text(text)

    async def _send_user_text(self, text: str) -> SendOutcome:
        message_id = await self._send("user_text_message", {"text": text})
        if message_id is None:
            return self._refuse(text, "The message could not be sent (see the error log).")
        self._conversation.user_text_sent(text)
        self._turn_timer.sent()
        return SendOutcome("sent", message_id=message_id)

    async def _send(self, msg_type: str, data: dict[str, Any]) -> str | None:
        """Send one client message; returns its id, or None (and an error event) on failure."""
        transport = self._transport
        if transport is None:
            self._raise(make_error("session.invalid_state",
                                   f"Cannot send {msg_type}: not in a room."))
            return None
        try:
            out = protocol.build_message(msg_type, data)
            await transport.send(out.payload)
        except ConvaiError as exc:
            self._raise(exc.error)
            return None
        self.metrics.messages_sent += 1
        self._pending_acks.setdefault(msg_type, deque(maxlen=64)).append(out.id)
        self._publish(MessageSent(message_type=msg_type, message_id=out.id,
                                  summary=summarize(msg_type, data)))
        return out.id


_Handler = Callable[[SessionCore, protocol.InboundMessage], None]
_HANDLERS: dict[str, _Handler] = {
    "bot-ready": SessionCore._on_bot_ready,
    "server-response": SessionCore._on_server_response,
    "user-idle-warning": SessionCore._on_idle_warning,
    "usage-limit-reached": SessionCore._on_usage_limit,
    "error": SessionCore._on_server_error,
    "session-ending": SessionCore._on_session_ending,
    "error-response": SessionCore._on_error_response,
}
