"""Banners on the session view: the idle countdown, why the session ended, the last error,
and the character's activity line (thinking / streaming reply)."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual.widgets import Static

from convai_tui.core.errors.error import SessionError
from convai_tui.core.errors.fix_text import fix_text
from convai_tui.ui.formatting import clock_time, duration
from convai_tui.ui.model.reducer import EndedView, IdleView, MonitorModel

IDLE_URGENT_S = 10.0
_SERVER_COUNTDOWN = re.compile(
    r"\s+in\s+\d+(?:\.\d+)?\s*(?:seconds?|secs?|s|minutes?|mins?)\b", re.IGNORECASE
)


def without_countdown(message: str) -> str:
    """The server's warning without its own "in 30 seconds", which was true only when it was
    sent: the banner shows one countdown, the live one."""
    return _SERVER_COUNTDOWN.sub("", message)


class IdleBanner(Static):
    """Counts down to the idle deadline; class `-urgent` (red) under ten seconds."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.remaining: float | None = None

    def show(self, idle: IdleView | None, now: float) -> None:
        self.display = idle is not None
        if idle is None:
            self.remaining = None
            return
        if idle.deadline is None:  # a warning without a countdown
            self.remaining = None
            self.set_class(False, "-urgent")
            self.update(
                f"Idle: {idle.message or 'You have been idle.'} — press any key to stay connected"
            )
            return
        remaining = max(0.0, idle.deadline - now)
        self.remaining = remaining
        self.set_class(remaining < IDLE_URGENT_S, "-urgent")
        if remaining <= 0:
            text = "Idle time is up: the server is closing the session."
        else:
            message = without_countdown(idle.message or "You have been idle.")
            action = (
                "reset sent, waiting for the server…"
                if idle.reset_requested
                else "press any key to stay connected"
            )
            text = f"Idle: {message}  Closing in {duration(remaining)} — {action}"
        self.update(text)


class EndedBanner(Static):
    """Why the session ended (idle timeout, disconnect reason, error) and the key that
    connects again."""

    connect_key = "ctrl+r"

    def show(self, ended: EndedView | None) -> None:
        self.display = ended is not None
        if ended is None:
            return
        text = Text()
        text.append(f"Session ended at {clock_time(ended.at)}: {ended.reason}", style="bold")
        if ended.error is not None:
            text.append(f"\n{ended.error.code}: {ended.error.entry.cause} ")
            text.append(f"Fix: {fix_text(ended.error, ended.reason)}")
        text.append(f"\n{self.connect_key}: connect again", style="italic")
        self.update(text)


class PinnedError(Static):
    """The most recent error, pinned until the next one (details on the Errors tab)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.error: SessionError | None = None

    def show(self, error: SessionError | None) -> None:
        self.display = error is not None
        if error is None or error is self.error:
            return
        self.error = error
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"last error {clock_time(error.at)} ", style="bold")
        text.append(f"{error.code}: {error.message}")
        text.append("  (f3: details)", style="dim")
        self.update(text)


class ActivityLine(Static):
    """What the character is doing: thinking, or the reply streaming in.

    It is shown again on every batch of session events. A new text re-lays out the screen
    only when the line is shown or hidden or its wrapped height changes: a layout pass
    repaints every widget on the screen, and the reply streams in chunk by chunk."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._text = ""

    def show(self, model: MonitorModel) -> None:
        text = activity_text(model)
        self.set_class(model.thinking, "-thinking")
        if text == self._text and self.display == bool(text):
            return
        self._text = text
        if self.display != bool(text):
            self.display = bool(text)
            self.update(text)
            return
        height = self._wrapped_height()
        self.update(text, layout=False)
        if self._wrapped_height() != height:
            self.refresh(layout=True)

    def _wrapped_height(self) -> int:
        """The text's height at the width it was last laid out at (0 before that)."""
        width = self.content_region.width
        return self.get_content_height(self.size, self.size, width) if width else 0


def activity_text(model: MonitorModel) -> str:
    """The activity line's text; empty while there is nothing to show."""
    if model.streaming_role == "character" and model.streaming_text:
        return f"{model.display_name} › {model.streaming_text}▌"
    if model.streaming_role == "user" and model.streaming_text:
        return f"you (speaking) › {model.streaming_text}"
    if model.thinking:
        return f"… {model.display_name} is thinking"
    return model.activity_note or ""
