"""What the Link view draws, folded from events: the link samples (the core's bounded
history), per-turn timings, and the session's state changes, errors and reconnects for the
timeline strip. Like the monitor model it never reads a clock; times come from the events."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from convai_tui.core.api.events import (
    ErrorRaised,
    Event,
    LinkStatsSampled,
    SessionStateChanged,
    TurnTimed,
)
from convai_tui.core.api.states import SessionState
from convai_tui.core.link.stats import LinkHistory

LINK_EVENT_TYPES: frozenset[type[Event]] = frozenset(
    {LinkStatsSampled, TurnTimed, SessionStateChanged, ErrorRaised}
)
"""The events the Link view folds in (the monitor model hands it only these)."""

MAX_TIMELINE_POINTS = 2_000
MAX_TURNS = 500


@dataclass(slots=True)
class LinkModel:
    history: LinkHistory = field(default_factory=LinkHistory)
    turns: deque[TurnTimed] = field(default_factory=lambda: deque(maxlen=MAX_TURNS))
    states: deque[tuple[float, SessionState]] = field(
        default_factory=lambda: deque(maxlen=MAX_TIMELINE_POINTS)
    )
    errors: deque[tuple[float, str]] = field(
        default_factory=lambda: deque(maxlen=MAX_TIMELINE_POINTS)
    )
    reconnects: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_TIMELINE_POINTS))
    last_at: float | None = None

    @property
    def latest(self) -> LinkStatsSampled | None:
        return self.history.full[-1] if self.history.full else None

    @property
    def first_at(self) -> float | None:
        return self.states[0][0] if self.states else None

    def apply(self, event: Event) -> bool:
        """Fold one event in; True when the Link view needs a repaint."""
        self.last_at = event.at
        if isinstance(event, LinkStatsSampled):
            self.history.add(event)
        elif isinstance(event, TurnTimed):
            self.turns.append(event)
        elif isinstance(event, SessionStateChanged):
            self.states.append((event.at, event.new))
            if event.new is SessionState.RECONNECTING:
                self.reconnects.append(event.at)
        elif isinstance(event, ErrorRaised):
            self.errors.append((event.at, event.error.code))
        else:
            return False
        return True

    def turn_series(self) -> list[float]:
        """One figure per turn: sent → first text, or (voice) stopped speaking → speech."""
        out = []
        for turn in self.turns:
            value = (
                turn.sent_to_first_text_ms
                if turn.sent_to_first_text_ms is not None
                else turn.user_stop_to_speech_ms
            )
            if value is not None:
                out.append(value)
        return out
