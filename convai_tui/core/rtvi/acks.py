"""Matching the server's acknowledgements to the messages we sent.

A server-response names only the event type it answers, not the message id, so the ids sent
per type wait in order and each response takes the oldest. Callers that need the answer
(send_control) wait on a future per message id. Both are registered before the message goes
out: the answer can be read while the send itself is still being awaited.
"""

from __future__ import annotations

import asyncio
from collections import deque

from convai_tui.core.api.events import ServerResponseReceived

PENDING_PER_TYPE = 64
"""Ids kept per message type; older unanswered ones are forgotten (the server never answers
some types, e.g. user_text_message)."""


class AckTracker:
    """Pending message ids per type and the futures of those awaited."""

    def __init__(self) -> None:
        self._pending: dict[str, deque[str]] = {}
        self._waiters: dict[str, asyncio.Future[ServerResponseReceived]] = {}
        self._types: dict[str, str] = {}
        """The type of each pending id, for answers that name the id (error-response)."""

    def sending(self, msg_type: str, message_id: str, *, awaited: bool = False) -> None:
        """Record a message about to be sent that may get a server-response; `awaited` keeps
        its answer for a `wait` that starts only once the send has returned."""
        pending = self._pending.setdefault(msg_type, deque(maxlen=PENDING_PER_TYPE))
        if len(pending) == pending.maxlen:
            self._types.pop(pending[0], None)
        pending.append(message_id)
        self._types[message_id] = msg_type
        if awaited:
            self._waiters[message_id] = asyncio.get_running_loop().create_future()

    def not_sent(self, message_id: str) -> None:
        """The send failed: nothing will answer `message_id`."""
        self.take_id(message_id)
        waiter = self._waiters.pop(message_id, None)
        if waiter is not None:
            waiter.cancel()

    def take(self, event_type: str) -> str | None:
        """The id a server-response for `event_type` answers (the oldest pending), if any."""
        pending = self._pending.get(event_type)
        if not pending:
            return None
        message_id = pending.popleft()
        self._types.pop(message_id, None)
        return message_id

    def take_id(self, message_id: str) -> str | None:
        """The type of the pending message `message_id` (which is then answered), if any."""
        msg_type = self._types.pop(message_id, None)
        if msg_type is not None:
            pending = self._pending.get(msg_type)
            if pending is not None and message_id in pending:
                pending.remove(message_id)
        return msg_type

    def resolve(self, ack: ServerResponseReceived) -> None:
        """Hand the response to whoever waits for its message id."""
        waiter = self._waiters.get(ack.message_id) if ack.message_id else None
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)

    async def wait(self, message_id: str, timeout_s: float) -> ServerResponseReceived:
        """The response to `message_id`; raises TimeoutError after `timeout_s`."""
        waiter = self._waiters.get(message_id)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[message_id] = waiter
        try:
            async with asyncio.timeout(timeout_s):
                return await waiter
        finally:
            self._waiters.pop(message_id, None)
