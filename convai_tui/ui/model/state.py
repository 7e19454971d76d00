"""The monitor's picture of a session as data: what it shows, what the UI records itself
(control results, its own errors, idle resets) and the questions the screen asks of it. The
events are folded in by `MonitorModel.apply` (reducer.py).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from convai_tui.core.api.counters import SessionCounters
from convai_tui.core.api.events import AudioLevels, ConnectAttemptStarted, LogRecorded
from convai_tui.core.api.port import ControlResult
from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import ErrorStage, SessionError
from convai_tui.core.rtvi.controls import ControlRequest
from convai_tui.ui.model.link import LinkModel
from convai_tui.ui.model.room import RoomView
from convai_tui.ui.model.views import (
    MAX_REQUEST_ROWS,
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

NO_MIC_CODES = frozenset({"audio.mic_unavailable", "audio.mic_permission_denied"})
NO_SPEAKER_CODES = frozenset({"audio.speaker_unavailable"})


@dataclass(slots=True)
class MonitorState:
    """Everything the monitor shows (folded from events by MonitorModel.apply), and what the
    UI records and asks of it itself. Mutable on purpose (hot path)."""

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
    room: RoomView = field(default_factory=RoomView)
    """A multi-character room; inactive in a single-character one."""
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
    audio_warning: str | None = None
    """An audio warning in force (speech being dropped), shown next to the meters until cleared."""
    latency_ms: dict[str, float] = field(default_factory=dict)
    counters: SessionCounters = field(default_factory=SessionCounters)
    link: LinkModel = field(default_factory=LinkModel)
    """The Link view's samples, turn timings and state timeline."""
    """The core's own fold of the events, so the monitor counts as diagnostics() does."""
    logs: deque[LogRecorded] = field(default_factory=lambda: deque(maxlen=50))
    requests: dict[str, RequestRow] = field(default_factory=dict)
    context_budget: ContextBudget | None = None
    tts_enabled: bool = True
    stt_muted: bool = False
    """The server ignores the user's speech (stt-toggle); typed text still goes through."""
    events_applied: int = 0
    mic_missing: bool = False
    """No microphone could be opened: mute and push-to-talk cannot work."""
    speaker_missing: bool = False
    """No speaker could be opened: the character is only read."""
    connect_key: str = "ctrl+r"
    """The key that connects again (keymap applied), for the hints that name it."""
    _request_seq: int = 0

    @property
    def display_name(self) -> str:
        return self.character_name or self.character_id or "character"

    # --- things the UI itself records ------------------------------------------------------------

    def note_system(self, at: float, text: str) -> None:
        self.transcript.append(TranscriptLine(at, "system", text))

    def note_ui_error(self, error: SessionError) -> None:
        self.add_error(error)

    def request_idle_reset(self) -> None:
        if self.idle is not None and not self.idle.reset_requested:
            i = self.idle
            self.idle = IdleView(i.remaining_seconds, i.deadline, i.message, i.received_at, True)

    def dismiss_blocking(self) -> None:
        """Hide the blocking banner; the session stays ended and input stays refused."""
        self.blocking_dismissed = True

    def note_control_result(
        self, at: float, request: ControlRequest, result: ControlResult
    ) -> set[Part]:
        """A control the UI sent has finished: record a refusal or a timeout (the acks
        themselves arrive as events), and the TTS state when the ack has no extras."""
        changed: set[Part] = set()
        if result.status == "refused":
            key = self.new_request_key("local")
            self.add_request(
                RequestRow(key, at, request.type, request.summary, "refused", result.message)
            )
            changed.add(Part.REQUESTS)
        elif result.status == "timeout" and result.message_id:
            row = self.requests.get(result.message_id)
            if row is None:
                row = RequestRow(result.message_id, at, request.type, request.summary)
                self.add_request(row)
            if row.status == "pending":
                row.status, row.message = "timeout", result.message
            changed.add(Part.REQUESTS)
        elif (
            request.type == "tts-toggle"
            and result.status == "success"
            and not (result.extras and "enabled" in result.extras)
        ):
            self.tts_enabled = bool(request.data.get("enabled"))
            changed.add(Part.STATE)
        elif (
            request.type == "stt-toggle"
            and result.status == "success"
            and not (result.extras and "muted" in result.extras)
        ):
            self.stt_muted = bool(request.data.get("muted"))
            changed.add(Part.STATE)
        return changed

    @property
    def can_connect_again(self) -> bool:
        """The session has ended (or failed) and no retry is scheduled: connecting starts anew."""
        return self.retry is None and self.state in (SessionState.DISCONNECTED, SessionState.ERROR)

    @property
    def character_replying(self) -> bool:
        """The character is thinking, streaming a reply or speaking (what interrupt stops)."""
        return self.state is SessionState.CONNECTED and (
            self.bot_activity in ("thinking", "speaking") or self.streaming_role == "character"
        )

    # --- queries -------------------------------------------------------------------------------

    def input_block_reason(self) -> str | None:
        """Why typed text cannot be sent right now, or None when it can (or may be queued)."""
        if self.blocking is not None and self.blocking.kind == "usage_limit":
            return f"Session ended: {self.blocking.title}. Connecting again fails until the quota resets."
        if self.blocking is not None:
            return f"Session ended: {self.blocking.title}. {self.connect_key} connects again."
        if self.state is SessionState.CONNECTED:
            return None
        if self.state is SessionState.CONNECTING:
            return None  # the core queues or refuses it with its own reason
        if self.ended is not None:
            return f"Session ended ({self.ended.reason}). {self.connect_key} connects again."
        if self.state is SessionState.RECONNECTING:
            return "Reconnecting: input is accepted again once the session is back."
        if self.state is SessionState.ERROR:
            return f"The session is in Error: {self.connect_key} connects again."
        if self.state is SessionState.DISCONNECTING:
            return "The session is closing."
        return f"Not connected: {self.connect_key} connects."

    def input_hint(self) -> str:
        reason = self.input_block_reason()
        if reason is not None:
            return reason
        if not self.bot_ready:
            return f"{self.display_name} is not ready yet: messages are queued until it is."
        return "Enter sends · any key answers an idle warning"

    # --- what the reducer's folds record (reducer.py, protocol_folds.py, room.py) -------------

    def new_request_key(self, prefix: str) -> str:
        """A key for a request row with no message id (a local refusal, an unmatched ack)."""
        self._request_seq += 1
        return f"{prefix}-{self._request_seq}"

    def add_error(self, error: SessionError) -> None:
        if error.code in NO_MIC_CODES:
            self.mic_missing = True
        elif error.code in NO_SPEAKER_CODES:
            self.speaker_missing = True
        self.errors.append(error)
        self.error_counts[error.category] += 1
        self.last_error = error

    def add_line(self, at: float, role: str, text: str, speaker: str | None = None) -> None:
        self.transcript.append(TranscriptLine(at, role, text, speaker))

    def add_request(self, row: RequestRow) -> None:
        self.requests[row.key] = row
        while len(self.requests) > MAX_REQUEST_ROWS:
            del self.requests[next(iter(self.requests))]


def ui_error(code: str, message: str, at: float) -> SessionError:
    """An error the UI itself hit (a failing handler): shown like any other, never a traceback."""
    return SessionError(code, message, ErrorStage.UNKNOWN, True, at=at)
