"""The pieces of the monitor's picture that widgets render: which screen part changed, and
small immutable (or row-like) views of retries, idle warnings, endings, requests and
participants. Plain data: no events, no widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from convai_tui.core.api.events import ParticipantInfo
from convai_tui.core.errors.error import SessionError
from convai_tui.core.rtvi.controls import LOW_CONTEXT_TOKENS

FLASH_SECONDS = 3.0
"""How long a joined, left or updated participant stays highlighted."""

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
    LINK = "link"


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One line of the conversation; `role` is user, character, emotion, action or system."""

    at: float
    role: str
    text: str
    speaker: str | None = None
    """Multi-character rooms: the instance that spoke (clones told apart)."""


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
