"""Overlays above the tabs: the retry / reconnect / waiting-room countdown and the blocking
banner for a usage limit or a fatal error."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from convai_tui.core.errors.error import lookup
from convai_tui.ui.formatting import countdown, duration
from convai_tui.ui.model.reducer import BlockingView, RetryView
from convai_tui.ui.registry import key_hint


def retry_keys_hint(keymap: dict[str, str]) -> str:
    return f"{key_hint(keymap, 'retry.now')} retry now · {key_hint(keymap, 'retry.cancel')} cancel"


def blocking_keys_hint(keymap: dict[str, str]) -> str:
    return (
        f"{key_hint(keymap, 'session.connect')}: connect again"
        f" · {key_hint(keymap, 'blocking.dismiss')}: dismiss"
        f" · {key_hint(keymap, 'app.quit')}: quit"
    )


BLOCKING_NEXT_STEP = {
    "usage_limit": "No automatic reconnect: connecting again fails until the quota resets.",
    "fatal": "No automatic reconnect: connect again for a new session.",
}
"""What helps after each kind of blocking end; the input hint says the same (model/state.py)."""


PHASE_TITLES = {
    "connect": "Connecting again",
    "reconnect": "Reconnecting",
    "waiting_room": "Please wait…",
}


class RetryOverlay(Vertical):
    """Attempt k of N, the error that caused it and a live countdown to the next attempt."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.retry: RetryView | None = None
        self.remaining: float = 0.0
        self.keys_hint = retry_keys_hint({})

    def compose(self) -> ComposeResult:
        yield Static("", id="retry-title")
        yield Static("", id="retry-status")
        yield ProgressBar(total=1.0, show_eta=False, show_percentage=False, id="retry-progress")
        yield Static("", id="retry-cause")
        yield Static("", id="retry-keys")

    def show(self, retry: RetryView | None, now: float) -> None:
        self.retry = retry
        if retry is None:
            return
        remaining = max(0.0, retry.due_at - now)
        self.remaining = remaining
        span = max(retry.due_at - retry.scheduled_at, retry.delay_s, 0.001)
        self.set_class(retry.is_waiting_room, "-waiting-room")
        title = PHASE_TITLES.get(retry.phase, retry.phase.replace("_", " ").capitalize())
        self.query_one("#retry-title", Static).update(title)
        self.query_one("#retry-status", Static).update(self._status(retry, remaining, now))
        bar = self.query_one("#retry-progress", ProgressBar)
        bar.update(total=span, progress=min(span, span - remaining))
        self.query_one("#retry-cause", Static).update(self._cause(retry))
        self.query_one("#retry-keys", Static).update(Text(self.keys_hint, style="dim"))

    def _status(self, retry: RetryView, remaining: float, now: float) -> str:
        in_progress = retry.in_progress and remaining <= 0
        if retry.is_waiting_room:
            when = (
                "attempt in progress…" if in_progress else f"next attempt in {countdown(remaining)}"
            )
            since = retry.waiting_since if retry.waiting_since is not None else retry.scheduled_at
            tried = retry.attempt - 1
            return (
                "Every session slot for this key is busy.\n"
                f"Waiting {duration(now - since)} · {tried} attempt{'s' if tried != 1 else ''}"
                f" so far · {when}"
            )
        # The countdown is to attempt k itself, so "Attempt 4 of 4" never reads as a fifth.
        of = f" of {retry.max_attempts}" if retry.max_attempts is not None else ""
        last = " (the last)" if retry.attempt == retry.max_attempts else ""
        when = "in progress…" if in_progress else f"in {countdown(remaining)}"
        return f"Attempt {retry.attempt}{of}{last} {when}"

    @staticmethod
    def _cause(retry: RetryView) -> Text:
        text = Text()
        if retry.error is None:
            return text
        text.append("Caused by ", style="dim")
        text.append(retry.error.code, style="bold")
        text.append(f": {retry.error.message}")
        return text


class BlockingBanner(Vertical):
    """The session cannot go on (usage limit, fatal error); nothing reconnects on its own."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.blocking: BlockingView | None = None
        self.keys_hint = blocking_keys_hint({})

    def compose(self) -> ComposeResult:
        yield Static("", id="blocking-title")
        yield Static("", id="blocking-detail")
        yield Static("", id="blocking-keys")

    def show(self, blocking: BlockingView | None) -> None:
        if blocking is self.blocking:
            return
        self.blocking = blocking
        if blocking is None:
            return
        self.query_one("#blocking-title", Static).update(blocking.title.capitalize())
        step = BLOCKING_NEXT_STEP.get(blocking.kind, "No automatic reconnect.")
        self.query_one("#blocking-keys", Static).update(
            Text(f"{step} {self.keys_hint}", style="dim")
        )
        entry = lookup(blocking.code)
        detail = Text()
        if blocking.detail:
            detail.append(blocking.detail + "\n")
        detail.append(f"{blocking.code}: ", style="bold")
        detail.append(entry.cause + "\n")
        detail.append("Fix: ", style="bold")
        detail.append(entry.fix)
        self.query_one("#blocking-detail", Static).update(detail)
