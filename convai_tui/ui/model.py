"""The UI's picture of a session: a plain object that session events are folded into.

`MonitorModel.apply(event)` is the reducer. It never touches a widget and never reads a clock
(times come from the events), so it can be unit-tested alone and run at tens of thousands of
events per second. It returns the set of `Part`s that changed so the screen repaints only those.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from convai_tui.core.controls import ControlRequest
from convai_tui.core.errors import ErrorStage, SessionError
from convai_tui.core.events import (
    ActionsReceived,
    AudioLevels,
    BotActivityChanged,
    BotReady,
    ConnectAttemptStarted,
    EmotionReceived,
    ErrorRaised,
    Event,
    IdleTimerReset,
    IdleWarningReceived,
    InputQueued,
    InputRefused,
    LlmNoResponse,
    LogRecorded,
    MessageSent,
    MetricsUpdated,
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
    TranscriptReceived,
    TurnCompleted,
    UsageLimitReached,
)
from convai_tui.core.port import ControlResult
from convai_tui.core.states import SessionState

FLASH_SECONDS = 3.0
"""How long a joined, left or updated participant stays highlighted."""

ECHO_WINDOW_S = 120.0
"""A user transcript equal to text typed this recently is the server's echo of it."""

LOW_CONTEXT_TOKENS = 5_000
"""Under this many remaining context tokens the budget is shown as low (web SDK advice)."""

MAX_REQUEST_ROWS = 500


class Part(StrEnum):
    """A region of the screen that an event can invalidate."""

    STATE = "state"
    TRANSCRIPT = "transcript"
    ACTIVITY = "activity"
    ERRORS = "errors"
    RETRY = "retry"
    IDLE = "idle"
    ENDED = "ended"
    BLOCKING = "blocking"
    PARTICIPANTS = "participants"
    DIAGNOSTICS = "diagnostics"
    AUDIO = "audio"
    REQUESTS = "requests"


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One line of the conversation; `role` is user, character, emotion, action or system."""

    at: float
    role: str
    text: str


@dataclass(frozen=True, slots=True)
class RetryView:
    """A scheduled retry, reconnect or waiting-room poll (from RetryScheduled)."""

    attempt: int
    max_attempts: int | None
    delay_s: float
    due_at: float
    phase: str
    error: SessionError | None
    waiting_since: float | None
    scheduled_at: float
    in_progress: bool = False

    @property
    def is_waiting_room(self) -> bool:
        return self.phase == "waiting_room"


@dataclass(frozen=True, slots=True)
class IdleView:
    """An idle warning being counted down; `reset_requested` once the user did something."""

    remaining_seconds: int | None
    deadline: float | None
    """None when the server gave no countdown (the warning is shown without one)."""
    message: str | None
    received_at: float
    reset_requested: bool = False


@dataclass(frozen=True, slots=True)
class EndedView:
    """Why the session is over (SessionEnded, or an idle timeout error)."""

    reason: str
    error: SessionError | None
    at: float


@dataclass(frozen=True, slots=True)
class BlockingView:
    """A condition that ends the session with no automatic reconnect: usage limit, fatal error."""

    kind: str  # "usage_limit" | "fatal"
    title: str
    detail: str
    code: str
    at: float


@dataclass(slots=True)
class RequestRow:
    """One client message and what became of it: pending until its server-response arrives,
    then the ack's status; "refused" (never sent) or "timeout" as the UI saw them."""

    key: str
    at: float
    type: str
    summary: str
    status: str = "pending"
    message: str | None = None
    acked_at: float | None = None


@dataclass(frozen=True, slots=True)
class ContextBudget:
    """The token figures of the last context-update ack."""

    token_count: int | None
    max_tokens: int | None
    remaining_tokens: int | None
    at: float

    @property
    def low(self) -> bool:
        return self.remaining_tokens is not None and self.remaining_tokens < LOW_CONTEXT_TOKENS


@dataclass(slots=True)
class ParticipantRow:
    info: ParticipantInfo
    joined_at: float
    changed_at: float
    change: str  # "joined" | "updated" | "left" | "present"
    left_at: float | None = None


@dataclass(slots=True)
class Counters:
    """What the UI counted itself; the fallback when diagnostics() lacks a figure."""

    connect_attempts: int = 0
    successful_connections: int = 0
    failed_connections: int = 0
    reconnects: int = 0
    errors: int = 0
    messages_sent: int = 0
    server_responses: int = 0
    last_connected_at: float | None = None
    connected_since: float | None = None


@dataclass(slots=True)
class MonitorModel:
    """Everything the monitor shows, folded from events. Mutable on purpose (hot path)."""

    character_id: str = ""
    character_name: str | None = None
    state: SessionState = SessionState.DISCONNECTED
    state_since: float | None = None
    state_reason: str | None = None
    session_id: str | None = None
    character_session_id: str | None = None
    room_name: str | None = None
    room_url: str | None = None
    request_trace_id: str | None = None
    local_identity: str | None = None
    bot_ready: bool = False
    bot_activity: str = "idle"
    thinking: bool = False
    activity_note: str | None = None
    """Why the character stopped without answering (moderation, no response, aborted)."""
    server_metrics: dict[str, Any] = field(default_factory=dict)
    streaming_role: str | None = None
    streaming_text: str = ""
    emotion: str | None = None
    transcript: list[TranscriptLine] = field(default_factory=list)
    errors: list[SessionError] = field(default_factory=list)
    error_counts: Counter[str] = field(default_factory=Counter)
    last_error: SessionError | None = None
    retry: RetryView | None = None
    last_attempt: ConnectAttemptStarted | None = None
    idle: IdleView | None = None
    ended: EndedView | None = None
    blocking: BlockingView | None = None
    blocking_dismissed: bool = False
    participants: dict[str, ParticipantRow] = field(default_factory=dict)
    audio: AudioLevels | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    logs: deque[LogRecorded] = field(default_factory=lambda: deque(maxlen=50))
    requests: dict[str, RequestRow] = field(default_factory=dict)
    context_budget: ContextBudget | None = None
    tts_enabled: bool = True
    stt_muted: bool = False
    """The server ignores the user's speech (stt-toggle); typed text still goes through."""
    events_applied: int = 0
    _typed: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=32))
    _pending: list[str] = field(default_factory=list)
    _request_seq: int = 0

    @property
    def display_name(self) -> str:
        return self.character_name or self.character_id or "character"

    # --- the reducer ---------------------------------------------------------------------------

    def apply_all(self, events: Iterable[Event]) -> set[Part]:
        changed: set[Part] = set()
        for event in events:
            changed |= self.apply(event)
        return changed

    def apply(self, event: Event) -> set[Part]:
        """Fold one event in; returns the parts of the screen it changed."""
        self.events_applied += 1
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return set()
        return handler(self, event)

    # --- things the UI itself records ------------------------------------------------------------

    def begin_send(self, text: str) -> None:
        """The user asked to send `text`; a core that echoes it as a transcript shows it first."""
        self._pending.append(text)

    def finish_send(self, at: float, text: str, *, accepted: bool) -> bool:
        """The send returned. Shows the text unless the core already echoed it; True if added."""
        if text not in self._pending:
            return False  # echoed while the send was in flight: already shown
        self._pending.remove(text)
        if not accepted:
            return False
        self._typed.append((at, text))
        self.transcript.append(TranscriptLine(at, "user", text))
        return True

    def note_system(self, at: float, text: str) -> None:
        self.transcript.append(TranscriptLine(at, "system", text))

    def note_ui_error(self, error: SessionError) -> None:
        self._add_error(error)

    def request_idle_reset(self) -> None:
        if self.idle is not None and not self.idle.reset_requested:
            i = self.idle
            self.idle = IdleView(i.remaining_seconds, i.deadline, i.message, i.received_at, True)

    def dismiss_blocking(self) -> None:
        """Hide the blocking banner; the session stays ended and input stays refused."""
        self.blocking_dismissed = True

    def note_control_result(self, at: float, request: ControlRequest,
                            result: ControlResult) -> set[Part]:
        """A control the UI sent has finished: record a refusal or a timeout (the acks
        themselves arrive as events), and the TTS state when the ack has no extras."""
        changed: set[Part] = set()
        if result.status == "refused":
            self._request_seq += 1
            key = f"local-{self._request_seq}"
            self._add_request(RequestRow(key, at, request.type, request.summary, "refused",
                                         result.message))
            changed.add(Part.REQUESTS)
        elif result.status == "timeout" and result.message_id:
            row = self.requests.get(result.message_id)
            if row is None:
                row = RequestRow(result.message_id, at, request.type, request.summary)
                self._add_request(row)
            if row.status == "pending":
                row.status, row.message = "timeout", result.message
            changed.add(Part.REQUESTS)
        elif (request.type == "tts-toggle" and result.status == "success"
              and not (result.extras and "enabled" in result.extras)):
            self.tts_enabled = bool(request.data.get("enabled"))
            changed.add(Part.STATE)
        elif (request.type == "stt-toggle" and result.status == "success"
              and not (result.extras and "muted" in result.extras)):
            self.stt_muted = bool(request.data.get("muted"))
            changed.add(Part.STATE)
        return changed

    @property
    def character_replying(self) -> bool:
        """The character is thinking, streaming a reply or speaking (what interrupt stops)."""
        return self.state is SessionState.CONNECTED and (
            self.bot_activity in ("thinking", "speaking") or self.streaming_role == "character"
        )

    # --- queries -------------------------------------------------------------------------------

    def input_block_reason(self) -> str | None:
        """Why typed text cannot be sent right now, or None when it can (or may be queued)."""
        if self.blocking is not None:
            return f"Session ended: {self.blocking.title}. Connect again to continue."
        if self.state is SessionState.CONNECTED:
            return None
        if self.state is SessionState.CONNECTING:
            return None  # the core queues or refuses it with its own reason
        if self.ended is not None:
            return f"Session ended ({self.ended.reason}). Connect again to continue."
        if self.state is SessionState.RECONNECTING:
            return "Reconnecting: input is accepted again once the session is back."
        if self.state is SessionState.ERROR:
            return "The session is in Error: disconnect and connect again (ctrl+p → session)."
        if self.state is SessionState.DISCONNECTING:
            return "The session is closing."
        return "Not connected: connect first (ctrl+p → session: connect)."

    def input_hint(self) -> str:
        reason = self.input_block_reason()
        if reason is not None:
            return reason
        if not self.bot_ready:
            return f"{self.display_name} is not ready yet: messages are queued until it is."
        return "Enter sends · any key answers an idle warning"

    # --- internals -----------------------------------------------------------------------------

    def _add_error(self, error: SessionError) -> None:
        self.errors.append(error)
        self.error_counts[error.category] += 1
        self.counters.errors += 1
        self.last_error = error

    def _add_line(self, at: float, role: str, text: str) -> None:
        self.transcript.append(TranscriptLine(at, role, text))

    def _add_request(self, row: RequestRow) -> None:
        self.requests[row.key] = row
        while len(self.requests) > MAX_REQUEST_ROWS:
            del self.requests[next(iter(self.requests))]

    def _is_echo(self, at: float, text: str) -> bool:
        for index, (typed_at, typed) in enumerate(self._typed):
            if typed == text and abs(at - typed_at) <= ECHO_WINDOW_S:
                del self._typed[index]
                return True
        return False


_S = SessionState
_Handler = Callable[[MonitorModel, Any], set[Part]]


def _on_state(m: MonitorModel, e: SessionStateChanged) -> set[Part]:
    changed = {Part.STATE, Part.DIAGNOSTICS}
    m.state, m.state_since, m.state_reason = e.new, e.at, e.reason
    if e.session_id:
        m.session_id = e.session_id
    if e.new is _S.CONNECTED:
        m.counters.successful_connections += 1
        m.counters.last_connected_at = e.at
        m.counters.connected_since = e.at
        if e.old is _S.RECONNECTING:
            m.counters.reconnects += 1
        if m.ended is not None:
            m.ended = None
            changed.add(Part.ENDED)
    elif e.old is _S.CONNECTED or e.new in (_S.DISCONNECTED, _S.ERROR):
        if e.new is not _S.RECONNECTING:
            m.bot_ready = False
        m.counters.connected_since = None
    if e.new is _S.CONNECTING and e.old is _S.DISCONNECTED:
        m.ended, m.blocking = None, None
        changed |= {Part.ENDED, Part.BLOCKING}
    if e.new is _S.ERROR and e.old is _S.CONNECTING:
        m.counters.failed_connections += 1
    if e.new in (_S.CONNECTED, _S.ERROR, _S.DISCONNECTED) and m.retry is not None:
        m.retry = None
        changed.add(Part.RETRY)
    if e.new in (_S.DISCONNECTED, _S.ERROR) and m.idle is not None:
        m.idle = None
        changed.add(Part.IDLE)
    if e.new in (_S.DISCONNECTED, _S.ERROR, _S.RECONNECTING):
        m.thinking = False
        changed.add(Part.ACTIVITY)
    text = f"state {e.old.value} → {e.new.value}"
    if e.reason:
        text += f" ({e.reason})"
    if e.error is not None:
        text += f": {e.error.code}"
        if m.last_error is None or m.last_error.code != e.error.code:
            m.last_error = e.error
            changed.add(Part.ERRORS)
    m._add_line(e.at, "system", text)
    changed.add(Part.TRANSCRIPT)
    return changed


def _on_attempt(m: MonitorModel, e: ConnectAttemptStarted) -> set[Part]:
    m.counters.connect_attempts += 1
    m.last_attempt = e
    changed = {Part.DIAGNOSTICS}
    if m.retry is not None:
        r = m.retry
        m.retry = RetryView(
            e.attempt,
            r.max_attempts,
            r.delay_s,
            r.due_at,
            r.phase,
            r.error,
            r.waiting_since,
            r.scheduled_at,
            in_progress=True,
        )
        changed.add(Part.RETRY)
    return changed


def _on_room_details(m: MonitorModel, e: RoomDetailsReceived) -> set[Part]:
    m.tts_enabled = True  # a new server session starts with its default voice (on)
    m.stt_muted = False  # ... and listening
    m.session_id = e.session_id
    m.character_session_id = e.character_session_id
    m.room_name = e.room_name or m.room_name
    m.room_url = e.room_url
    m.request_trace_id = e.request_trace_id
    m.latency_ms["connect_ms"] = e.connect_ms
    return {Part.STATE, Part.DIAGNOSTICS}


def _on_room_joined(m: MonitorModel, e: RoomJoined) -> set[Part]:
    m.room_name = e.room_name or m.room_name
    m.local_identity = e.local_identity
    m.latency_ms["join_ms"] = e.join_ms
    return {Part.STATE, Part.DIAGNOSTICS}


def _on_retry(m: MonitorModel, e: RetryScheduled) -> set[Part]:
    m.retry = RetryView(
        e.attempt, e.max_attempts, e.delay_s, e.due_at, e.phase, e.error, e.waiting_since, e.at
    )
    changed = {Part.RETRY}
    if e.error is not None and m.last_error is None:
        m.last_error = e.error
        changed.add(Part.ERRORS)
    return changed


def _on_retry_cancelled(m: MonitorModel, e: RetryCancelled) -> set[Part]:
    m.retry = None
    m._add_line(e.at, "system", f"{e.phase.replace('_', ' ')} cancelled")
    return {Part.RETRY, Part.TRANSCRIPT}


def _on_error(m: MonitorModel, e: ErrorRaised) -> set[Part]:
    err = e.error
    m._add_error(err)
    changed = {Part.ERRORS, Part.DIAGNOSTICS}
    if err.code == "session.idle_timeout":
        m.ended = EndedView("idle timeout", err, e.at)
        m.idle = None
        changed |= {Part.ENDED, Part.IDLE}
    elif err.code == "server.fatal_error":
        m.blocking = BlockingView("fatal", "fatal server error", err.message, err.code, e.at)
        m.blocking_dismissed = False
        m.retry = None
        changed |= {Part.BLOCKING, Part.RETRY}
    elif err.code == "server.usage_limit_reached" and m.blocking is None:
        m.blocking = BlockingView("usage_limit", "usage limit reached", err.message, err.code, e.at)
        m.blocking_dismissed = False
        m.retry = None
        changed |= {Part.BLOCKING, Part.RETRY}
    return changed


def _on_bot_ready(m: MonitorModel, e: BotReady) -> set[Part]:
    m.bot_ready = True
    if e.since_connect_ms is not None:
        m.latency_ms["bot_ready_ms"] = e.since_connect_ms
    m._add_line(e.at, "system", f"{m.display_name} is ready")
    return {Part.STATE, Part.TRANSCRIPT, Part.DIAGNOSTICS}


def _on_ended(m: MonitorModel, e: SessionEnded) -> set[Part]:
    m.ended = EndedView(e.reason, e.error, e.at)
    m.idle = None
    m.retry = None
    m.thinking = False
    m.bot_ready = False
    if e.error is not None:
        m.last_error = e.error
    m._add_line(e.at, "system", f"session ended: {e.reason}")
    return {Part.ENDED, Part.IDLE, Part.RETRY, Part.ACTIVITY, Part.TRANSCRIPT, Part.ERRORS}


from convai_tui.ui.model_protocol import HANDLERS, note_aborted  # noqa: E402 (needs Part)


def _on_transcript(m: MonitorModel, e: TranscriptReceived) -> set[Part]:
    if e.final:
        if m.streaming_role == e.role:
            m.streaming_role, m.streaming_text = None, ""
        text = (e.full_text or e.text) if e.role == "character" else e.text
        if e.role == "character":
            m.thinking = False
        if e.role == "user":
            if text in m._pending:
                m._pending.remove(text)
            elif m._is_echo(e.at, text):
                return {Part.ACTIVITY}
            if e.speaker:
                text = f"({e.speaker}) {text}"
        m._add_line(e.at, e.role, text)
        return {Part.TRANSCRIPT, Part.ACTIVITY}
    if e.role == "character":
        m.thinking = False
        if e.full_text:
            m.streaming_text = e.full_text
        elif m.streaming_role == "character":
            m.streaming_text += e.text
        else:
            m.streaming_text = e.text
    else:
        m.streaming_text = e.full_text or e.text
    m.streaming_role = e.role
    return {Part.ACTIVITY}


def _on_activity(m: MonitorModel, e: BotActivityChanged) -> set[Part]:
    m.bot_activity = e.activity
    m.thinking = e.activity == "thinking"
    if e.activity in ("thinking", "speaking"):
        m.activity_note = None
    return {Part.ACTIVITY}


def _on_emotion(m: MonitorModel, e: EmotionReceived) -> set[Part]:
    m.emotion = e.emotion
    scale = f" ({e.scale})" if e.scale is not None else ""
    m._add_line(e.at, "emotion", f"{e.emotion}{scale}")
    return {Part.TRANSCRIPT, Part.ACTIVITY}


def _on_actions(m: MonitorModel, e: ActionsReceived) -> set[Part]:
    m._add_line(e.at, "action", ", ".join(e.actions))
    return {Part.TRANSCRIPT}


def _on_turn(m: MonitorModel, e: TurnCompleted) -> set[Part]:
    m.thinking = False
    changed = {Part.ACTIVITY}
    if m.streaming_role == "character":
        m.streaming_role, m.streaming_text = None, ""
        if e.reply_text:
            m._add_line(e.at, "character", e.reply_text)
            changed.add(Part.TRANSCRIPT)
    if e.was_interrupted:
        m._add_line(e.at, "system", "reply interrupted")
        changed.add(Part.TRANSCRIPT)
    if note_aborted(m, e):
        changed.add(Part.TRANSCRIPT)
    if e.first_text_ms is not None:
        m.latency_ms["last_turn_first_text_ms"] = e.first_text_ms
        changed.add(Part.DIAGNOSTICS)
    return changed


def _on_no_response(m: MonitorModel, e: LlmNoResponse) -> set[Part]:
    m.thinking = False
    m.streaming_role, m.streaming_text = None, ""
    why = f" ({e.reason})" if e.reason else ""
    m.activity_note = f"{m.display_name} chose not to answer{why}."
    m._add_line(e.at, "system", f"{m.display_name} gave no response{why}")
    return {Part.ACTIVITY, Part.TRANSCRIPT}


def _on_sent(m: MonitorModel, e: MessageSent) -> set[Part]:
    m.counters.messages_sent += 1
    row = m.requests.get(e.message_id)
    if row is None:
        m._add_request(RequestRow(e.message_id, e.at, e.message_type, e.summary))
    else:  # the UI recorded a timeout before this event was folded in
        row.type, row.summary, row.at = e.message_type, e.summary, e.at
    return {Part.DIAGNOSTICS, Part.REQUESTS}


def _on_queued(m: MonitorModel, e: InputQueued) -> set[Part]:
    m._add_line(
        e.at, "system", f"queued until {m.display_name} is ready ({e.queue_length} waiting)"
    )
    return {Part.TRANSCRIPT}


def _on_refused(m: MonitorModel, e: InputRefused) -> set[Part]:
    m._add_line(e.at, "system", f"not sent: {e.reason}")
    return {Part.TRANSCRIPT}


def _on_server_response(m: MonitorModel, e: ServerResponseReceived) -> set[Part]:
    m.counters.server_responses += 1
    changed = {Part.REQUESTS}
    row = m.requests.get(e.message_id) if e.message_id else None
    if row is None:  # an ack for nothing we sent: parse-error, validation-error, unknown type
        m._request_seq += 1
        key = e.message_id or f"ack-{m._request_seq}"
        row = RequestRow(key, e.at, e.event_type, "")
        m._add_request(row)
    row.status, row.message, row.acked_at = e.status, e.message, e.at
    extras = e.extras or {}
    if e.event_type == "context-update" and "remaining_tokens" in extras:
        m.context_budget = ContextBudget(
            _int_or_none(extras.get("token_count")),
            _int_or_none(extras.get("max_tokens")),
            _int_or_none(extras.get("remaining_tokens")),
            e.at,
        )
    if e.event_type == "tts-toggle" and e.status == "success":
        enabled = extras.get("enabled")
        if isinstance(enabled, bool):
            m.tts_enabled = enabled
            changed.add(Part.STATE)
    if e.event_type == "stt-toggle" and e.status == "success":
        muted = extras.get("muted")
        if isinstance(muted, bool):
            m.stt_muted = muted
            changed.add(Part.STATE)
    return changed


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _on_idle_warning(m: MonitorModel, e: IdleWarningReceived) -> set[Part]:
    m.idle = IdleView(e.remaining_seconds, e.deadline, e.message, e.at)
    return {Part.IDLE}


def _on_idle_reset(m: MonitorModel, e: IdleTimerReset) -> set[Part]:
    if e.acknowledged and m.idle is not None:
        m.idle = None
        m._add_line(e.at, "system", "idle timer reset")
        return {Part.IDLE, Part.TRANSCRIPT}
    return set()


def _on_usage(m: MonitorModel, e: UsageLimitReached) -> set[Part]:
    quota = e.quota_type or "unknown quota"
    m.blocking = BlockingView(
        "usage_limit",
        f"usage limit reached: {quota}",
        e.message or "",
        "server.usage_limit_reached",
        e.at,
    )
    m.blocking_dismissed = False
    m.retry = None
    return {Part.BLOCKING, Part.RETRY}


def _on_ending(m: MonitorModel, e: SessionEnding) -> set[Part]:
    m._add_line(e.at, "system", f"the server is closing the session ({e.reason or 'no reason'})")
    return {Part.TRANSCRIPT}


def _on_participant(m: MonitorModel, e: ParticipantJoined | ParticipantUpdated) -> set[Part]:
    info = e.participant
    row = m.participants.get(info.identity)
    joined = isinstance(e, ParticipantJoined) or row is None or row.left_at is not None
    if joined:
        m.participants[info.identity] = ParticipantRow(info, e.at, e.at, "joined")
    else:
        assert row is not None
        row.info, row.changed_at, row.change = info, e.at, "updated"
    return {Part.PARTICIPANTS}


def _on_participant_left(m: MonitorModel, e: ParticipantLeft) -> set[Part]:
    info = e.participant
    row = m.participants.get(info.identity)
    if row is None:
        row = m.participants[info.identity] = ParticipantRow(info, e.at, e.at, "left")
    row.info, row.changed_at, row.change, row.left_at = info, e.at, "left", e.at
    return {Part.PARTICIPANTS}


def _on_metrics(m: MonitorModel, e: MetricsUpdated) -> set[Part]:
    m.metrics.update(e.metrics)
    return {Part.DIAGNOSTICS}


def _on_audio(m: MonitorModel, e: AudioLevels) -> set[Part]:
    m.audio = e
    return {Part.AUDIO}


def _on_log(m: MonitorModel, e: LogRecorded) -> set[Part]:
    m.logs.append(e)
    return {Part.DIAGNOSTICS}


_HANDLERS: dict[type[Event], _Handler] = {
    SessionStateChanged: _on_state,
    ConnectAttemptStarted: _on_attempt,
    RoomDetailsReceived: _on_room_details,
    RoomJoined: _on_room_joined,
    RetryScheduled: _on_retry,
    RetryCancelled: _on_retry_cancelled,
    ErrorRaised: _on_error,
    BotReady: _on_bot_ready,
    SessionEnded: _on_ended,
    TranscriptReceived: _on_transcript,
    BotActivityChanged: _on_activity,
    EmotionReceived: _on_emotion,
    ActionsReceived: _on_actions,
    TurnCompleted: _on_turn,
    LlmNoResponse: _on_no_response,
    MessageSent: _on_sent,
    InputQueued: _on_queued,
    InputRefused: _on_refused,
    ServerResponseReceived: _on_server_response,
    IdleWarningReceived: _on_idle_warning,
    IdleTimerReset: _on_idle_reset,
    UsageLimitReached: _on_usage,
    SessionEnding: _on_ending,
    ParticipantJoined: _on_participant,
    ParticipantUpdated: _on_participant,
    ParticipantLeft: _on_participant_left,
    MetricsUpdated: _on_metrics,
    AudioLevels: _on_audio,
    LogRecorded: _on_log,
    **HANDLERS,
}


def ui_error(code: str, message: str, at: float) -> SessionError:
    """An error the UI itself hit (a failing handler): shown like any other, never a traceback."""
    return SessionError(code, message, ErrorStage.UNKNOWN, True, at=at)
