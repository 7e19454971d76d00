"""The UI's picture of a session: a plain object that session events are folded into.

`MonitorModel.apply(event)` is the reducer. It never touches a widget and never reads a clock
(times come from the events), so it can be unit-tested alone and run at tens of thousands of
events per second. It returns the set of `Part`s that changed so the screen repaints only those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from convai_tui.core.api.events import (
    ActionsReceived,
    AudioLevels,
    AudioProblemCleared,
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
    LinkStatsSampled,
    LlmNoResponse,
    LogRecorded,
    MessageSent,
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
    TurnTimed,
    UsageLimitReached,
)
from convai_tui.core.api.states import SessionState
from convai_tui.ui.model.link import LINK_EVENT_TYPES
from convai_tui.ui.model.protocol_folds import HANDLERS, note_aborted
from convai_tui.ui.model.room import ROOM_HANDLERS
from convai_tui.ui.model.state import MonitorState, ui_error
from convai_tui.ui.model.views import (
    FLASH_SECONDS,
    BlockingView,
    ContextBudget,
    EndedView,
    IdleView,
    Part,
    ParticipantRow,
    RequestRow,
    RetryView,
    TranscriptLine,
)

__all__ = [  # the views are imported from here by the widgets
    "FLASH_SECONDS",
    "BlockingView",
    "ContextBudget",
    "EndedView",
    "IdleView",
    "MonitorModel",
    "Part",
    "ParticipantRow",
    "RequestRow",
    "RetryView",
    "TranscriptLine",
    "ui_error",
]


@dataclass(slots=True)
class MonitorModel(MonitorState):
    """The monitor's picture with its reducer: `apply` folds one event in."""

    def apply_all(self, events: Iterable[Event]) -> set[Part]:
        changed: set[Part] = set()
        for event in events:
            changed |= self.apply(event)
        return changed

    def apply(self, event: Event) -> set[Part]:
        """Fold one event in; returns the parts of the screen it changed."""
        self.events_applied += 1
        changed = {Part.DIAGNOSTICS} if self.counters.apply(event) else set()
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            changed |= handler(self, event)
        if type(event) in LINK_EVENT_TYPES and self.link.apply(event):
            changed.add(Part.LINK)
        return changed


_S = SessionState
PLAYBACK_DROPPING_CODE = "audio.playback_dropping"
_Handler = Callable[[MonitorModel, Any], set[Part]]


def _on_state(m: MonitorModel, e: SessionStateChanged) -> set[Part]:
    changed = {Part.STATE, Part.DIAGNOSTICS}
    m.state, m.state_since, m.state_reason = e.new, e.at, e.reason
    if e.session_id:
        m.session_id = e.session_id
    if e.new is _S.CONNECTED:
        if m.ended is not None:
            m.ended = None
            changed.add(Part.ENDED)
    elif e.old is _S.CONNECTED or e.new in (_S.DISCONNECTED, _S.ERROR):
        if e.new is not _S.RECONNECTING:
            m.bot_ready = False
    if e.new is _S.CONNECTING and e.old is _S.DISCONNECTED:
        m.ended, m.blocking = None, None
        changed |= {Part.ENDED, Part.BLOCKING}
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
    m.add_line(e.at, "system", text)
    changed.add(Part.TRANSCRIPT)
    return changed


def _on_attempt(m: MonitorModel, e: ConnectAttemptStarted) -> set[Part]:
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
    m.add_line(e.at, "system", f"{e.phase.replace('_', ' ')} cancelled")
    return {Part.RETRY, Part.TRANSCRIPT}


def _on_error(m: MonitorModel, e: ErrorRaised) -> set[Part]:
    err = e.error
    m.add_error(err)
    changed = {Part.ERRORS, Part.DIAGNOSTICS}
    if err.code == "session.idle_timeout":
        m.ended = EndedView("idle timeout", err, e.at)
        m.idle = None
        changed |= {Part.ENDED, Part.IDLE}
    elif err.code == PLAYBACK_DROPPING_CODE:
        m.audio_warning = err.message
        changed |= {Part.AUDIO}
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
    m.add_line(e.at, "system", f"{m.display_name} is ready")
    return {Part.STATE, Part.TRANSCRIPT, Part.DIAGNOSTICS}


def _on_ended(m: MonitorModel, e: SessionEnded) -> set[Part]:
    m.ended = EndedView(e.reason, e.error, e.at)
    m.idle = None
    m.retry = None
    m.thinking = False
    m.bot_ready = False
    if e.error is not None:
        m.last_error = e.error
    m.add_line(e.at, "system", f"session ended: {e.reason}")
    return {Part.ENDED, Part.IDLE, Part.RETRY, Part.ACTIVITY, Part.TRANSCRIPT, Part.ERRORS}


def _on_transcript(m: MonitorModel, e: TranscriptReceived) -> set[Part]:
    if e.final:
        if m.streaming_role == e.role:
            m.streaming_role, m.streaming_text = None, ""
        text = (e.full_text or e.text) if e.role == "character" else e.text
        if e.role == "character":
            m.thinking = False
        if e.role == "user" and e.speaker:
            text = f"({e.speaker}) {text}"
        m.add_line(
            e.at, e.role, text, m.room.name_of(e.membership_id) if e.role == "character" else None
        )
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
    m.add_line(e.at, "emotion", f"{e.emotion}{scale}")
    return {Part.TRANSCRIPT, Part.ACTIVITY}


def _on_actions(m: MonitorModel, e: ActionsReceived) -> set[Part]:
    m.add_line(e.at, "action", ", ".join(e.actions))
    return {Part.TRANSCRIPT}


def _on_turn(m: MonitorModel, e: TurnCompleted) -> set[Part]:
    m.thinking = False
    changed = {Part.ACTIVITY}
    if m.streaming_role == "character":
        m.streaming_role, m.streaming_text = None, ""
        if e.reply_text:
            m.add_line(e.at, "character", e.reply_text)
            changed.add(Part.TRANSCRIPT)
    if e.was_interrupted:
        m.add_line(e.at, "system", "reply interrupted")
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
    m.add_line(e.at, "system", f"{m.display_name} gave no response{why}")
    return {Part.ACTIVITY, Part.TRANSCRIPT}


def _on_sent(m: MonitorModel, e: MessageSent) -> set[Part]:
    row = m.requests.get(e.message_id)
    if row is None:
        m.add_request(RequestRow(e.message_id, e.at, e.message_type, e.summary))
    else:  # the UI recorded a timeout before this event was folded in
        row.type, row.summary, row.at = e.message_type, e.summary, e.at
    return {Part.DIAGNOSTICS, Part.REQUESTS}


def _on_queued(m: MonitorModel, e: InputQueued) -> set[Part]:
    m.add_line(e.at, "system", f"queued until {m.display_name} is ready ({e.queue_length} waiting)")
    return {Part.TRANSCRIPT}


def _on_refused(m: MonitorModel, e: InputRefused) -> set[Part]:
    m.add_line(e.at, "system", f"not sent: {e.reason}")
    return {Part.TRANSCRIPT}


def _on_server_response(m: MonitorModel, e: ServerResponseReceived) -> set[Part]:
    changed = {Part.REQUESTS}
    row = m.requests.get(e.message_id) if e.message_id else None
    if row is None:  # an ack for nothing we sent: parse-error, validation-error, unknown type
        numbered = m.new_request_key("ack")  # every unmatched ack takes a number, id or not
        key = e.message_id or numbered
        row = RequestRow(key, e.at, e.event_type, "")
        m.add_request(row)
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
        m.add_line(e.at, "system", "idle timer reset")
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
    m.add_line(e.at, "system", f"the server is closing the session ({e.reason or 'no reason'})")
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


def _on_audio(m: MonitorModel, e: AudioLevels) -> set[Part]:
    m.audio = e
    return {Part.AUDIO}


def _on_audio_cleared(m: MonitorModel, e: AudioProblemCleared) -> set[Part]:
    if e.code == PLAYBACK_DROPPING_CODE:
        m.audio_warning = None
    return {Part.AUDIO}


def _on_log(m: MonitorModel, e: LogRecorded) -> set[Part]:
    m.logs.append(e)
    return {Part.DIAGNOSTICS}


def _on_link(m: MonitorModel, e: LinkStatsSampled | TurnTimed) -> set[Part]:
    return set()  # only the Link view shows these: `apply` folds them into `m.link`


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
    AudioLevels: _on_audio,
    AudioProblemCleared: _on_audio_cleared,
    LogRecorded: _on_log,
    **HANDLERS,
    LinkStatsSampled: _on_link,
    TurnTimed: _on_link,
    **ROOM_HANDLERS,
}
