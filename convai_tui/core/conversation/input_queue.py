"""Text typed before the character is ready: held (up to a limit), sent in order once it is,
refused when it waited too long or the session ends first. Every refusal is an event."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable

from convai_tui.core.api.events import Event, InputQueued, InputRefused
from convai_tui.core.api.port import SendOutcome


class InputQueue:
    """Bounded FIFO of (text, monotonic time queued)."""

    def __init__(self, publish: Callable[[Event], None], *, limit: int, max_age_s: float) -> None:
        self._publish = publish
        self._limit = limit
        self._max_age_s = max_age_s
        self._items: deque[tuple[str, float]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def refuse(self, text: str, reason: str) -> SendOutcome:
        """Tell the user a text was not sent and why."""
        self._publish(InputRefused(text=text, reason=reason))
        return SendOutcome("refused", reason=reason)

    def hold(self, text: str) -> SendOutcome:
        """Queue `text` until the character is ready, or refuse it when the queue is full."""
        if len(self._items) >= self._limit:
            return self.refuse(
                text,
                f"The character is not ready yet and "
                f"{len(self._items)} messages are already waiting.",
            )
        self._items.append((text, time.monotonic()))
        self._publish(InputQueued(text=text, queue_length=len(self._items)))
        return SendOutcome("queued", reason="held until the character is ready")

    def refuse_all(self, reason: str) -> None:
        """The session ended before the character was ready: nothing queued will be sent."""
        while self._items:
            text, _ = self._items.popleft()
            self._publish(InputRefused(text=text, reason=f"Not sent: {reason}."))

    async def flush(
        self, can_send: Callable[[], bool], send: Callable[[str], Awaitable[object]]
    ) -> None:
        """Send what waits, oldest first, while `can_send()`; refuse what is too old."""
        while self._items and can_send():
            text, queued_at = self._items.popleft()
            if time.monotonic() - queued_at > self._max_age_s:
                why = f"Not sent: the character was not ready within {self._max_age_s:g} s."
                self._publish(InputRefused(text=text, reason=why))
                continue
            await send(text)
