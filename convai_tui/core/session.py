"""The session orchestrator: the SessionPort methods, the state machine and the collaborators it
builds; the supervisor (connect, wait for the room to end, reconnect or finish) is
`SessionLifecycle` in supervisor.py, and each other part of a session is a module of its own
next to this one. Everything observable leaves as an event on the bus.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from convai_tui.core.api import events as ev
from convai_tui.core.api.bus import EventBus, Subscription
from convai_tui.core.api.metrics import SessionMetrics
from convai_tui.core.api.outcomes import Outcome
from convai_tui.core.api.port import ControlResult, SendOutcome, SessionInfo
from convai_tui.core.api.states import SessionState, is_legal
from convai_tui.core.connect.connect_api import ConnectApiClient
from convai_tui.core.connect.retry_loop import RetryLoop
from convai_tui.core.connect.room_lease import RoomLease
from convai_tui.core.conversation.conversation import Conversation
from convai_tui.core.conversation.input_queue import InputQueue
from convai_tui.core.conversation.server_messages import ServerMessages
from convai_tui.core.conversation.turn_parts import vad_stop_s
from convai_tui.core.conversation.turn_timing import TurnTimer
from convai_tui.core.conversation.user_input import InputHooks, UserInput
from convai_tui.core.errors.error import SessionError, make_error
from convai_tui.core.errors.redact import REDACTOR
from convai_tui.core.inbound import Inbound
from convai_tui.core.link.media import MediaHook, SessionMedia
from convai_tui.core.link.participants import ParticipantTable
from convai_tui.core.link.stats import LinkSampler
from convai_tui.core.link.transport import RoomTransport, TransportCallbacks
from convai_tui.core.link.watch import LinkWatch
from convai_tui.core.multi.room_session import RoomHooks, RoomSession
from convai_tui.core.room_join import RoomJoin
from convai_tui.core.rtvi.acks import AckTracker
from convai_tui.core.rtvi.handshake import Handshake, client_ready_data
from convai_tui.core.rtvi.outbox import Outbox
from convai_tui.core.rtvi.readiness import BotReadiness
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.core.supervisor import SessionLifecycle
from convai_tui.runtime.task_set import TaskSet

log = logging.getLogger("convai_tui.session")


class SessionCore(SessionLifecycle):
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
        self._clock = clock
        self._bus = EventBus()
        self._state = SessionState.DISCONNECTED
        self._supervisor: asyncio.Task[None] | None = None
        self._outcome: asyncio.Future[Outcome] | None = None
        self._finished = False
        self._closed = False
        self.metrics = SessionMetrics()
        self._tasks = TaskSet(log, "a session background task failed")
        # Collaborators in dependency order; where two need each other (the handshake and the
        # room it speaks into, a multi-character room and the readiness it reports), one asks
        # the session through a method below instead of holding the other.
        self._lease = RoomLease(
            character_session_id=settings.character_session_id,
            api=api_client,
            publish=self._publish,
        )
        self._media = SessionMedia(hook=media, publish=self._publish, raise_error=self._raise)
        self._acks = AckTracker()
        self._outbox = Outbox(acks=self._acks, publish=self._publish, raise_error=self._raise)
        self._readiness = BotReadiness(
            timeout_s=settings.bot_ready_timeout_s,
            on_timeout=self._on_bot_ready_timeout,
            handshake=Handshake(send=self._send_client_ready),
        )
        self._queue = InputQueue(
            publish=self._publish,
            limit=settings.input_queue_limit,
            max_age_s=settings.input_queue_max_age_s,
        )
        self._server = ServerMessages(
            publish=self._publish,
            raise_error=self._raise,
            resolve=self._resolve,
            clock=clock,
            acks=self._acks,
        )
        self._participants = ParticipantTable(publish=self._publish)
        self.room = RoomSession(
            hooks=RoomHooks(
                publish=self._publish,
                state=self._current_state,
                channel=self._channel,
                ready=self._members_ready,
                resolve=self._resolve,
                settings=self._current_settings,
                use_settings=self._use_settings,
                lease=self._lease,
            )
        )
        self._conversation = Conversation(
            publish=self.room.stamp(self._publish), metrics=self.metrics, speaker=self.room.speaker
        )
        self._link = LinkWatch(
            stall_after_s=settings.link_stall_s or 0.0,
            on_lost=self._link_lost,
            on_back=self._link_back,
        )
        self.link = LinkSampler(
            publish=self._publish, raise_error=self._raise, thresholds=settings.link, clock=clock
        )
        self._turn_timer = TurnTimer(
            publish=self._publish,
            sla_voice_ms=settings.sla_voice_ms,
            sla_text_ms=settings.sla_text_ms,
            expect_trace=settings.connect_options.debug,
            vad_stop_s=vad_stop_s(settings.connect_options.vad_params),
        )
        self._media.set_mark_sink(self._turn_timer.mark)
        self._room_join = RoomJoin(
            factory=transport_factory,
            publish=self._publish,
            connected=self._joined,
            lease=self._lease,
            metrics=self.metrics,
            readiness=self._readiness,
            participants=self._participants,
            link_watch=self._link,
            link_sampler=self.link,
            media=self._media,
            conversation=self._conversation,
        )
        self._input = UserInput(
            hooks=InputHooks(
                publish=self._publish,
                state=self._current_state,
                ready=self._readiness.is_ready,
                channel=self._channel,
                refusal=self.room.input_refusal,
                settings=self._current_settings,
            ),
            queue=self._queue,
            outbox=self._outbox,
            acks=self._acks,
            server=self._server,
            conversation=self._conversation,
            turn_timer=self._turn_timer,
            tasks=self._tasks,
        )
        self._inbound = Inbound(
            publish=self._publish,
            raise_error=self._raise,
            metrics=self.metrics,
            turn_timer=self._turn_timer,
            room=self.room,
            server=self._server,
            conversation=self._conversation,
            readiness=self._readiness,
            participants=self._participants,
            user_input=self._input,
        )
        self._retries = RetryLoop(
            policy=settings.retry,
            attempt=self._attempt,
            publish=self._publish,
            raise_error=self._raise,
            clock=clock,
            rng=rng or random.Random(),
        )

    # --- what collaborators ask of the session ---------------------------------------------------

    def _current_state(self) -> SessionState:
        return self._state

    def _current_settings(self) -> SessionSettings:
        return self.settings

    def _use_settings(self, settings: SessionSettings) -> None:
        """A multi-character room switched the character: later connects use these settings."""
        self.settings = settings

    def _channel(self) -> RoomTransport | None:
        """The joined room's transport (room_join.py); None between rooms."""
        return self._room_join.transport

    def _members_ready(self) -> None:
        """A multi-character room's initial membership is ready: as one character's bot-ready."""
        self._inbound.bot_ready()

    async def _send_client_ready(self) -> str | None:
        return await self._outbox.send(
            self._channel(), "client-ready", client_ready_data(), announce=False
        )

    # --- SessionPort ---------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def info(self) -> SessionInfo:
        return SessionInfo(
            self.settings.character_id, self.settings.connect_url, self.settings.character_name
        )

    @property
    def bot_ready(self) -> bool:
        return self._readiness.ready

    def subscribe(self) -> Subscription:
        return self._bus.subscribe()

    async def start(self) -> None:
        if self._state is not SessionState.DISCONNECTED:
            self._publish(
                ev.LogRecorded(
                    level="warning",
                    category="session",
                    message=f"start() ignored in state {self._state.value}",
                )
            )
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
        self._turn_timer.flush()  # a turn still waiting for its turn-trace is told as it is
        self._set_state(SessionState.DISCONNECTING, reason=reason)
        await self._stop_supervisor()
        await self._input.release_server_session()
        await self._room_join.leave()  # before /disconnect deletes the room under us
        await self._lease.release()
        self._queue.refuse_all("the session was disconnected before the character was ready")
        self._set_state(SessionState.DISCONNECTED, reason=reason)
        self._publish(ev.SessionEnded(reason=reason))
        self._finished = False

    async def send_text(self, text: str) -> SendOutcome:
        return await self._input.send_text(text)

    async def send_control(
        self, msg_type: str, data: dict[str, Any] | None = None, *, ack_timeout_s: float = 10.0
    ) -> ControlResult:
        """Send one client message and wait for its server-response (user_input.py)."""
        return await self._input.send_control(msg_type, data, ack_timeout_s)

    async def reset_idle_timer(self) -> None:
        await self._input.reset_idle_timer()

    def retry_now(self) -> None:
        self._retries.retry_now()

    def cancel_retry(self) -> None:
        if self._state in (SessionState.CONNECTING, SessionState.RECONNECTING):
            phase = "reconnect" if self._state is SessionState.RECONNECTING else "connect"
            self._publish(ev.RetryCancelled(phase=phase))
            self._tasks.spawn(self.disconnect("cancelled"))

    def diagnostics(self) -> dict[str, Any]:
        snap = self.metrics.snapshot(self._clock())
        snap["state"] = self._state.value
        snap["bot_ready"] = self._readiness.ready
        snap["character_id"] = self.settings.character_id
        snap["connect_url"] = self.settings.connect_url
        transport = self._channel()
        snap["room"] = self._lease.describe(transport.local_identity if transport else None)
        snap["participants"] = self._participants.as_dicts()
        snap["queued_inputs"] = len(self._queue)
        snap.update(self._server.notices.diagnostics())
        snap["link"] = self.link.snapshot()
        audio = self._media.stats()
        if audio is not None:
            snap["audio"] = audio
        return snap

    async def close(self) -> None:
        """Release everything; safe to call more than once (the TUI and the CLI both do)."""
        if self._closed:
            return
        self._closed = True
        if self._state is not SessionState.DISCONNECTED:
            await self.disconnect("closed")
        await self._tasks.cancel_all()
        await self._lease.aclose()
        self._bus.close()

    # --- media (audio) -------------------------------------------------------------------------

    def attach_media(self, media: MediaHook) -> None:
        """Set the hook that rides on every room join; call before start()."""
        self._media.use(media)

    def emit(self, event: ev.Event) -> None:
        """Publish an event produced outside the core (audio levels)."""
        self._publish(event)

    def report_problem(self, code: str, message: str) -> None:
        """Raise a catalogue error found outside the core (audio devices); never ends the session."""
        self._raise(make_error(code, message))

    def set_muted(self, muted: bool) -> None:
        self._media.set_muted(muted)

    def toggle_mute(self) -> bool:
        return self._media.toggle_mute()

    def set_playback_volume(self, identity: str, gain_db: float) -> None:
        """Play one remote participant louder or quieter here (dB; 0 = as received)."""
        self._media.set_volume(identity, gain_db)

    def toggle_push_to_talk(self) -> bool:
        return self._media.toggle_push_to_talk(self._input.talk_released)

    @property
    def muted(self) -> bool:
        return self._media.muted

    # --- events and state ----------------------------------------------------------------------

    def _publish(self, event: ev.Event) -> None:
        self.metrics.apply(event)  # the counters are a fold of exactly what is published
        self._bus.publish(event)

    def _set_state(
        self, new: SessionState, *, error: SessionError | None = None, reason: str | None = None
    ) -> None:
        old = self._state
        if old is new:
            return
        if not is_legal(old, new):
            log.error("illegal transition %s -> %s ignored", old.value, new.value)
            return
        self._state = new
        self._publish(
            ev.SessionStateChanged(
                old=old, new=new, session_id=self._lease.session_id, error=error, reason=reason
            )
        )

    def _raise(self, error: SessionError) -> SessionError:
        if self._lease.session_id and not error.session_id:
            error = dataclasses.replace(error, session_id=self._lease.session_id)
        self._publish(ev.ErrorRaised(error=error))
        log.info("error %s: %s", error.code, error.message)
        return error

    # --- transport callbacks -------------------------------------------------------------------

    def _callbacks_for(self, session_id: str) -> TransportCallbacks:
        """The transport's callbacks, ignored once the session has moved on to another room."""
        return TransportCallbacks(
            self._on_data,
            self.room.on_participant(self._participants.change),
            self._on_room_closed,
            self._link.resuming,
            self._link.resumed,
        ).only_while(lambda: self._lease.session_id == session_id)

    # --- inbound messages ----------------------------------------------------------------------

    def _on_data(self, payload: bytes, sender: str | None) -> None:
        """The transport's data callback (bench/ingest_bench.py drives it directly)."""
        self._inbound.on_data(payload, sender)
