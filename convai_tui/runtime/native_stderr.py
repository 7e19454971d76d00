"""Keeping native libraries' messages off a full-screen UI.

Textual draws on stderr, and C libraries (ALSA, PortAudio, libwebrtc) write to file descriptor
2 directly: `ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred` lands in the middle of the
screen. While `to_log()` is active, fd 2 is a pipe whose lines a thread writes to the log,
and the UI draws on a separate file for the terminal (a copy of the original fd 2, or the
controlling terminal `/dev/tty` when stderr was redirected away from it, so `2>file` does not
send the whole UI into the file). `sys.stderr`/`sys.__stderr__` point at that file meanwhile,
since Textual's driver picks `sys.__stderr__` as its output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import termios
import threading
from collections.abc import Callable, Iterator
from typing import TextIO

from convai_tui.runtime.last_resort import before_abandoning

log = logging.getLogger("convai_tui.native")

TERMINAL_RESET = (
    "\x1b[?1049l"  # leave the alternate screen
    "\x1b[?25h"  # show the cursor
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l"  # mouse reporting off
    "\x1b[?1004l\x1b[?2004l"  # focus events and bracketed paste off
    "\x1b[<u"  # the keyboard protocol Textual pushed
)
"""What a full-screen UI turned on, turned off: written should the process be ended under it."""

_lines_logged = 0


def lines_logged() -> int:
    """How many lines native code wrote to stderr while it went to the log (this process)."""
    return _lines_logged


def _open_terminal() -> TextIO | None:
    """A writable file for the terminal the UI should draw on, or None for "leave it"."""
    encoding = getattr(sys.__stderr__, "encoding", None) or "utf-8"
    if os.isatty(2):
        return open(os.dup(2), "w", encoding=encoding, errors="backslashreplace")
    try:
        return open("/dev/tty", "w", encoding=encoding, errors="backslashreplace")
    except OSError:  # no controlling terminal: the UI goes where stderr goes, as before
        return None


def _pump(read_fd: int) -> None:
    with open(read_fd, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                _log_line(line)
        if pending:
            _log_line(pending)


def _log_line(raw: bytes) -> None:
    global _lines_logged
    text = raw.decode("utf-8", "replace").rstrip("\r")
    if text.strip():
        _lines_logged += 1
        log.warning("native stderr: %s", text)


def _terminal_restorer(terminal: TextIO) -> Callable[[], None]:
    """Gives the user a usable terminal back if the process is ended while the UI has it."""
    attrs = None
    with contextlib.suppress(termios.error, OSError):
        attrs = termios.tcgetattr(0) if os.isatty(0) else None

    def restore() -> None:
        with contextlib.suppress(OSError, ValueError):
            terminal.write(TERMINAL_RESET)
            terminal.flush()
        if attrs is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(0, termios.TCSANOW, attrs)

    return restore


def _set_stderr(stderr: TextIO | None, dunder: TextIO | None) -> None:
    sys.stderr = stderr  # type: ignore[assignment]  # None only where it was None before
    sys.__stderr__ = dunder  # type: ignore[misc,assignment]  # Final in typeshed; Textual reads it


@contextlib.contextmanager
def to_log() -> Iterator[None]:
    """While active: native writes to fd 2 go to the log, the UI draws on the terminal.

    When stderr is already redirected (`2>file`), fd 2 stays as it is (native messages go to
    that file, away from the screen) and only the UI moves to `/dev/tty`. Everything is
    restored on exit."""
    terminal = _open_terminal()
    if terminal is None:
        yield
        return
    saved = (sys.stderr, sys.__stderr__)
    for stream in saved:
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    pump: threading.Thread | None = None
    saved_fd2: int | None = None
    if os.isatty(2):
        read_fd, write_fd = os.pipe()
        saved_fd2 = os.dup(2)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        pump = threading.Thread(target=_pump, args=(read_fd,), name="native-stderr", daemon=True)
        pump.start()
    _set_stderr(terminal, terminal)
    unregister = before_abandoning(_terminal_restorer(terminal))
    try:
        yield
    finally:
        unregister()
        _set_stderr(*saved)
        if saved_fd2 is not None:
            os.dup2(saved_fd2, 2)  # the pipe's last writer goes: the pump reads to its end
            os.close(saved_fd2)
        if pump is not None:
            pump.join(timeout=2)
        with contextlib.suppress(OSError):
            terminal.close()
