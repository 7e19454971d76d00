"""A deadline enforced from outside the event loop, for a step that can block the loop's own
thread inside native code (LiveKit's disconnect, when the server deletes the room while the
client is leaving it): nothing on that thread can time it out, so a watchdog thread ends the
process instead of letting it hang."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("convai_tui.shutdown")

EXIT_ABANDONED = 1
"""The status a process ends with when a step outlived its last-resort deadline: the session's
own clean-up did not finish, so the run is not reported as clean."""


_before_exit: list[Callable[[], None]] = []


def before_abandoning(callback: Callable[[], None]) -> Callable[[], None]:
    """Run `callback` (from the watchdog thread) just before a deadline ends the process, e.g.
    to give the user their terminal back; returns what unregisters it."""
    _before_exit.append(callback)

    def unregister() -> None:
        if callback in _before_exit:
            _before_exit.remove(callback)

    return unregister


@contextmanager
def end_process_after(seconds: float, what: str, code: int = EXIT_ABANDONED) -> Iterator[None]:
    """Run the with-block; should it still be running `seconds` later, write one line to the log
    and to stderr, flush, and end the process with `code` without any further clean-up (the
    thread that would do it is the one that is stuck)."""
    finished = threading.Event()

    def watch() -> None:
        if finished.wait(seconds):
            return
        line = f"convai-tui: {what} did not finish within {seconds:g} s; ending the process"
        log.critical("%s (exit %d)", line, code)
        for callback in list(_before_exit):
            try:
                callback()
            except Exception:  # the process ends regardless
                log.exception("before ending the process")
        for handler in logging.getLogger().handlers:
            try:
                handler.flush()
            except Exception:  # a broken handler must not keep the process alive
                pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        try:
            os.write(2, (line + "\n").encode())
        except OSError:
            pass
        os._exit(code)

    threading.Thread(target=watch, name="last-resort", daemon=True).start()
    try:
        yield
    finally:
        finished.set()
