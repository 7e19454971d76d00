"""Everything a front end or a script can observe about a session, as frozen past-tense events.

Each event has a wire name (`TYPE`) used by the headless JSON-lines stream and the session log.
`to_json()` gives the JSON object; secrets never enter an event in the first place. Each class
registers itself by its `TYPE` (event_base.py); the first line of its docstring is its meaning
in the README's generated headless table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from convai_tui.core.api.event_base import EVENT_CLASSES as EVENT_CLASSES
from convai_tui.core.api.event_base import Event as Event
from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import SessionError

# --- lifecycle ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionStateChanged(Event):
    """The session moved from `old` to `new` (disconnected, connecting, connected,
    reconnecting, disconnecting, error); `reason` and `error` say why when they can."""

    TYPE: ClassVar[str] = "state_changed"
    old: SessionState
    new: SessionState
    session_id: str | None = None
    error: SessionError | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectAttemptStarted(Event):
    """A /connect request is about to be sent; `phase` is connect, reconnect or waiting_room."""

    TYPE: ClassVar[str] = "connect_attempt"
    attempt: int
    max_attempts: int | None
    phase: str = "connect"


@dataclass(frozen=True, slots=True)
class RoomDetailsReceived(Event):
    """The connect API answered; the LiveKit token is deliberately not part of this event."""

    TYPE: ClassVar[str] = "room_details"
    session_id: str
    character_session_id: str | None
    room_name: str | None
    room_url: str
    request_trace_id: str | None
    connect_ms: float


@dataclass(frozen=True, slots=True)
class RoomJoined(Event):
    """The LiveKit room is joined as `local_identity`, `join_ms` after the join began."""

    TYPE: ClassVar[str] = "room_joined"
    room_name: str | None
    local_identity: str
    join_ms: float


@dataclass(frozen=True, slots=True)
class RetryScheduled(Event):
    """A connect retry, a reconnect or a waiting-room poll is due at `due_at` (epoch seconds).

    `max_attempts` is None in the waiting room, which waits until a slot frees or the user
    cancels. `attempt` is the number of the attempt that will run next.
    """

    TYPE: ClassVar[str] = "reconnect_scheduled"
    attempt: int
    max_attempts: int | None
    delay_s: float
    due_at: float
    phase: str
    error: SessionError | None = None
    waiting_since: float | None = None


@dataclass(frozen=True, slots=True)
class RetryCancelled(Event):
    """A scheduled retry, reconnect or waiting-room poll was cancelled."""

    TYPE: ClassVar[str] = "retry_cancelled"
    phase: str


@dataclass(frozen=True, slots=True)
class ErrorRaised(Event):
    """Something went wrong: a catalogued error code (docs/ERRORS.md), its message, and the
    catalogue's `fix` and `verify` for it."""

    TYPE: ClassVar[str] = "error"
    JSON_FIELDS = (
        "code",
        "message",
        "category",
        "stage",
        "recoverable",
        "http_status",
        "session_id",
        "fix",
        "verify",
    )
    error: SessionError

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.TYPE, "ts": round(self.at, 6)}
        out.update(self.error.to_json())
        entry = self.error.entry  # what to do about it, so a script's log says it too
        out["fix"] = entry.fix
        out["verify"] = entry.verify
        return out


@dataclass(frozen=True, slots=True)
class BotReady(Event):
    """The character is ready: typed text is sent from now on (queued text goes first)."""

    TYPE: ClassVar[str] = "bot_ready"
    participant_identity: str | None
    since_connect_ms: float | None


@dataclass(frozen=True, slots=True)
class SessionEnded(Event):
    """The session is over for good: `reason` says why, `error` is set when it ended in Error."""

    TYPE: ClassVar[str] = "session_ended"
    reason: str
    error: SessionError | None = None


# --- conversation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttributedEvent(Event):
    """A conversation event. In a multi-character room `membership_id` names the instance it
    came from (user lines: the instance addressed); the JSON leaves it out when unset, so
    single-character lines are as they always were."""

    membership_id: str | None = field(default=None, kw_only=True)

    def to_json(self) -> dict[str, Any]:
        out = Event.to_json(self)
        if self.membership_id is None:
            del out["membership_id"]
        return out


@dataclass(frozen=True, slots=True)
class TranscriptReceived(AttributedEvent):
    """A piece of the conversation. Character text streams as `final=False` chunks (`text` is
    the chunk, `full_text` the reply so far), then one `final=True` event with the whole reply."""

    TYPE: ClassVar[str] = "transcript"
    role: str  # "user" | "character"
    text: str
    final: bool
    full_text: str = ""
    turn_id: int = 0
    speaker: str | None = None  # a user line's speaker_name or participant_id, when given


@dataclass(frozen=True, slots=True)
class BotActivityChanged(AttributedEvent):
    """What the character is doing: idle, listening, thinking or speaking."""

    TYPE: ClassVar[str] = "bot_activity"
    activity: str


@dataclass(frozen=True, slots=True)
class EmotionReceived(AttributedEvent):
    """The character's emotion, with its intensity `scale` when the server sent one."""

    TYPE: ClassVar[str] = "emotion"
    emotion: str
    scale: int | None = None


@dataclass(frozen=True, slots=True)
class ActionsReceived(AttributedEvent):
    """Actions the character decided to perform (action-response)."""

    TYPE: ClassVar[str] = "actions"
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TurnCompleted(AttributedEvent):
    """The character's turn is over: its whole reply, timing and lip-sync frame counts."""

    TYPE: ClassVar[str] = "turn_completed"
    turn_id: int
    was_interrupted: bool
    reply_text: str
    first_text_ms: float | None = None
    was_aborted: bool = False  # the service gave up on it (error_reason says why)
    error_reason: str | None = None
    response_id: str | None = None
    sequence: int | None = None
    visemes: int = 0  # lip-sync frames received during the turn (counted, not rendered)
    blendshapes: int = 0


@dataclass(frozen=True, slots=True)
class LlmNoResponse(Event):
    """The character's model chose not to answer; the turn is over."""

    TYPE: ClassVar[str] = "llm_no_response"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ModerationResult(Event):
    """The server's moderation verdict on the user's input; blocked input ends the turn."""

    TYPE: ClassVar[str] = "moderation"
    passed: bool
    user_input: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ServerNotice(Event):
    """A server message with nothing to act on (server_notices.py), kept for the log and
    replay; `known` False for a type we do not know (published once per type)."""

    TYPE: ClassVar[str] = "server_notice"
    message_type: str
    fields: dict[str, Any] = field(default_factory=dict)
    known: bool = True


@dataclass(frozen=True, slots=True)
class ServerMetricsReceived(Event):
    """One server `metrics` message (debug sessions): a bucket (ttfb, ...) of its entries."""

    TYPE: ClassVar[str] = "server_metrics"
    kind: str
    entries: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class MessageSent(Event):
    """A message went to the character; `summary` says what, without secrets."""

    TYPE: ClassVar[str] = "message_sent"
    message_type: str
    message_id: str
    summary: str = ""


@dataclass(frozen=True, slots=True)
class InputQueued(Event):
    """Typed text waits for the character to be ready; `queue_length` counts the queue."""

    TYPE: ClassVar[str] = "input_queued"
    text: str
    queue_length: int


@dataclass(frozen=True, slots=True)
class InputRefused(Event):
    """Text or a control was not sent (or dropped from the queue); `reason` says why."""

    TYPE: ClassVar[str] = "input_refused"
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class ServerResponseReceived(Event):
    """The server's answer to a message: `status` success, error, processing or pending;
    `message_id` names the message it answers (null for parse or validation errors)."""

    TYPE: ClassVar[str] = "server_response"
    event_type: str
    status: str
    message: str | None
    extras: dict[str, Any] | None = None
    message_id: str | None = None


# --- server notices ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdleWarningReceived(Event):
    """The server will close the session in `remaining_seconds` unless the user does something."""

    TYPE: ClassVar[str] = "idle_warning"
    remaining_seconds: int | None
    """None when the server gave no countdown."""
    message: str | None
    deadline: float | None


@dataclass(frozen=True, slots=True)
class IdleTimerReset(Event):
    """The idle timer reset was sent (`acknowledged` False) or acknowledged by the server (True)."""

    TYPE: ClassVar[str] = "idle_reset"
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class UsageLimitReached(Event):
    """A usage quota is exhausted; the session ends in Error."""

    TYPE: ClassVar[str] = "usage_limit_reached"
    quota_type: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class SessionEnding(Event):
    """The server announced it is ending the session, with its reason."""

    TYPE: ClassVar[str] = "session_ending"
    reason: str | None


# --- room --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantInfo:
    """A participant as the UI shows it; `kind` is local_player, remote_player or character."""

    identity: str
    name: str
    kind: str
    sid: str = ""
    muted: bool = False
    speaking: bool = False
    tracks: tuple[str, ...] = ()
    quality: str = ""
    """LiveKit's connection quality: excellent, good, poor, lost ("" unknown)."""


@dataclass(frozen=True, slots=True)
class _ParticipantEvent(Event):
    """A change in the room; the JSON form flattens the participant's fields."""

    JSON_FIELDS = ("identity", "name", "kind", "muted", "speaking", "tracks", "quality")

    identity: str
    name: str
    kind: str
    participant: ParticipantInfo

    def to_json(self) -> dict[str, Any]:
        return _participant_json(self.TYPE, self.at, self.participant)


@dataclass(frozen=True, slots=True)
class ParticipantJoined(_ParticipantEvent):
    """Someone joined the room; `kind` is local_player, remote_player or character."""

    TYPE: ClassVar[str] = "participant_joined"


@dataclass(frozen=True, slots=True)
class ParticipantLeft(_ParticipantEvent):
    """Someone left the room."""

    TYPE: ClassVar[str] = "participant_left"


@dataclass(frozen=True, slots=True)
class ParticipantUpdated(_ParticipantEvent):
    """A participant's state changed: muted, speaking, tracks or link quality."""

    TYPE: ClassVar[str] = "participant_updated"


def _participant_json(kind: str, at: float, p: ParticipantInfo) -> dict[str, Any]:
    return {
        "type": kind,
        "ts": round(at, 6),
        "identity": p.identity,
        "name": p.name,
        "kind": p.kind,
        "muted": p.muted,
        "speaking": p.speaking,
        "tracks": list(p.tracks),
        "quality": p.quality,
    }


def participant_event(
    cls: type[ParticipantJoined] | type[ParticipantLeft] | type[ParticipantUpdated],
    info: ParticipantInfo,
) -> ParticipantJoined | ParticipantLeft | ParticipantUpdated:
    return cls(identity=info.identity, name=info.name, kind=info.kind, participant=info)


# --- measurements ------------------------------------------------------------------------------

# Here, not at the top: the classes register in EVENT_CLASSES on import, and the README's
# headless table lists them in registry order, between the participant events and LogRecorded.
from convai_tui.core.api.measurement_events import AudioLevels as AudioLevels  # noqa: E402
from convai_tui.core.api.measurement_events import (  # noqa: E402
    AudioProblemCleared as AudioProblemCleared,
)
from convai_tui.core.api.measurement_events import LinkStatsSampled as LinkStatsSampled  # noqa: E402
from convai_tui.core.api.measurement_events import (  # noqa: E402
    ParticipantLevels as ParticipantLevels,
)
from convai_tui.core.api.measurement_events import TurnTimed as TurnTimed  # noqa: E402


@dataclass(frozen=True, slots=True)
class LogRecorded(Event):
    """A log line the user may want to see in the UI (already redacted)."""

    TYPE: ClassVar[str] = "log"
    level: str
    category: str
    message: str
