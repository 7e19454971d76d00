"""What the message input area says while a recorded session is replayed: that it is
read-only, how far the replay has got, and when it has finished."""

from __future__ import annotations

from collections.abc import Callable

ReplayProgress = Callable[[], tuple[int, int, bool]]
"""Events shown so far, events in the log, finished."""

READ_ONLY_PLACEHOLDER = "Read-only replay: nothing can be typed or sent"


def replay_hint(progress: ReplayProgress | None) -> str:
    if progress is None:
        return "Read-only: replaying a recorded session; nothing is sent."
    shown, total, finished = progress()
    if finished:
        return f"Read-only · replay finished: {total} events shown."
    percent = 100 * shown // total if total else 100
    return f"Read-only · replaying: {shown} of {total} events ({percent} %)"
