"""Every session's events as JSON lines under the XDG state dir, secrets redacted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import TextIO

from convai_tui.core.api.bus import Subscription
from convai_tui.core.api.port import SessionInfo
from convai_tui.core.errors.redact import redact

SESSION_INFO_TYPE = "session_info"
"""The log's first line: who the session talked to, as the live monitor named it (replay shows
the same name; the events alone hold only the character's id)."""


def session_info_line(info: SessionInfo) -> dict[str, object]:
    return {
        "type": SESSION_INFO_TYPE,
        "ts": time.time(),
        "character_id": info.character_id,
        "character_name": info.character_name,
        "connect_url": info.connect_url,
    }


FLUSH_EVERY_S = 0.1
"""How long a written line may wait in the file's buffer. One flush per event was a write
system call per event on the loop; a burst now costs one."""


def new_log_path(directory: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return directory / "sessions" / f"{stamp}-{os.getpid()}.jsonl"


class SessionLog:
    """Writes each event of a subscription as one redacted JSON line.

    Lines are buffered and flushed at most every `FLUSH_EVERY_S` (the first line after a quiet
    spell at once). `stop`, and the end of the subscription, write and flush everything queued,
    so a normal exit loses nothing; a hard crash (the process killed) may lose the lines of the
    last `FLUSH_EVERY_S`."""

    def __init__(
        self, path: Path, subscription: Subscription, info: SessionInfo | None = None
    ) -> None:
        self.path = path
        self._subscription = subscription
        self._info = info
        self._task: asyncio.Task[None] | None = None
        self._flushed_at = float("-inf")
        self._pending_flush: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._run(), name="session-log")

    async def _run(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            try:
                if self._info is not None:
                    fh.write(redact(json.dumps(session_info_line(self._info))) + "\n")
                    self._flush(fh)
                async for event in self._subscription:
                    fh.write(redact(json.dumps(event.to_json(), ensure_ascii=False)) + "\n")
                    self._flush_soon(fh)
            finally:
                if self._pending_flush is not None:
                    self._pending_flush.cancel()
                    self._pending_flush = None

    def _flush_soon(self, fh: TextIO) -> None:
        if self._pending_flush is not None:
            return
        wait = self._flushed_at + FLUSH_EVERY_S - time.monotonic()
        if wait <= 0:
            self._flush(fh)
        else:
            self._pending_flush = asyncio.get_running_loop().call_later(wait, self._flush, fh)

    def _flush(self, fh: TextIO) -> None:
        self._pending_flush = None
        if not fh.closed:
            fh.flush()
        self._flushed_at = time.monotonic()

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        self._subscription.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
