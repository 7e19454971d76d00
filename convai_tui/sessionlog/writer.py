"""Every session's events as JSON lines under the XDG state dir, secrets redacted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path

from convai_tui.core.api.bus import Subscription
from convai_tui.core.errors.redact import redact


def new_log_path(directory: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return directory / "sessions" / f"{stamp}-{os.getpid()}.jsonl"


class SessionLog:
    """Writes each event of a subscription as one redacted JSON line, flushed as it goes."""

    def __init__(self, path: Path, subscription: Subscription) -> None:
        self.path = path
        self._subscription = subscription
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._run(), name="session-log")

    async def _run(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            async for event in self._subscription:
                fh.write(redact(json.dumps(event.to_json(), ensure_ascii=False)) + "\n")
                fh.flush()

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        self._subscription.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
