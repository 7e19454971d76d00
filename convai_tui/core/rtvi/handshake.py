"""The RTVI handshake: after joining a room the client says `client-ready` and repeats it every
CLIENT_READY_RETRY_S until the character's `bot-ready`, as Convai's Unreal plugin does (its
ClientReadyRetrySecs 0.5 s). Giving up is the bot-ready timeout's business (readiness.py,
45 s); a `bot-ready` that came before the first `client-ready` counts, so nothing is sent then.
"""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Awaitable, Callable
from typing import Any

from convai_tui import __version__

CLIENT_READY_RETRY_S = 0.5
RTVI_VERSION = "1.2.0"
"""The RTVI protocol version we speak (Pipecat's RTVI 1.x messages)."""


def client_ready_data() -> dict[str, Any]:
    """`client-ready.data`: the protocol version and `about` naming this library."""
    return {
        "version": RTVI_VERSION,
        "about": {
            "library": "convai-tui",
            "library_version": __version__,
            "platform": "python",
            "platform_version": platform.python_version(),
        },
    }


class Handshake:
    """Sends `client-ready` through `send()` until `is_ready()`; one loop per room."""

    def __init__(
        self, send: Callable[[], Awaitable[object]], retry_s: float = CLIENT_READY_RETRY_S
    ) -> None:
        self._send = send
        self._retry_s = retry_s
        self._task: asyncio.Task[None] | None = None
        self.sent_count = 0
        """client-ready messages sent in the current room (diagnostics)."""

    def start(self, is_ready: Callable[[], bool]) -> None:
        self.sent_count = 0
        self._task = asyncio.create_task(self._run(is_ready), name="convai-client-ready")

    async def _run(self, is_ready: Callable[[], bool]) -> None:
        while not is_ready():
            await self._send()
            self.sent_count += 1
            await asyncio.sleep(self._retry_s)

    def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
