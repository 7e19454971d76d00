"""The stand-in child of `convai-tui demo`: start it with a progress line, and when it cannot
start, put the cause (the last lines of its log, which name the fix) on screen."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from convai_tui.config import state_dir

_START_TIMEOUT_S = 90.0
"""The stand-in waits up to 20 s per livekit-server start attempt (3 attempts)."""
_LOG_TAIL_LINES = 12


class StandInDidNotStart(SystemExit):
    """Exits with this message on stderr (status 1)."""


def start_standin_process(
    extra_args: Sequence[str] = (),
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start `convai-tui local-server --port 0` as a child in our process group; wait for its
    JSON line. Its logs go to a file so they never draw over the TUI."""
    log_dir = state_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "local-server.log"
    with open(log_path, "a", encoding="utf-8") as stderr:
        log_offset = stderr.tell()
        child = subprocess.Popen(
            [sys.executable, "-m", "convai_tui", "local-server", "--port", "0", *extra_args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            stdin=subprocess.DEVNULL,
        )
    line = _wait_for_ready_line(child)
    try:
        details: dict[str, str] = json.loads(line) if line else {}
    except json.JSONDecodeError:
        details = {}
    if not details:
        stop_standin_process(child)
        raise StandInDidNotStart(_failure_message(child, log_path, log_offset))
    return child, details


def _wait_for_ready_line(child: subprocess.Popen[str]) -> str:
    """The child's first stdout line ("" if it exits or takes too long), with a progress line
    on stderr meanwhile: updated in place on a terminal, printed once otherwise."""
    assert child.stdout is not None
    live = sys.stderr.isatty()
    started = time.monotonic()
    if not live:
        print("convai-tui: starting the local stand-in…", file=sys.stderr, flush=True)
    try:
        while time.monotonic() - started < _START_TIMEOUT_S:
            if live:
                print(
                    f"\rconvai-tui: starting the local stand-in… "
                    f"{time.monotonic() - started:4.1f} s",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            readable, _, _ = select.select([child.stdout], [], [], 0.2)
            if readable:
                return child.stdout.readline()
        return ""
    finally:
        if live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def _failure_message(child: subprocess.Popen[str], log_path: Path, offset: int) -> str:
    status = (
        f"exit {child.returncode}"
        if child.returncode is not None
        else f"no answer within {_START_TIMEOUT_S:.0f} s"
    )
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            lines = fh.read().splitlines()[-_LOG_TAIL_LINES:]
    except OSError:
        lines = []
    tail = "\n".join(f"  | {line}" for line in lines) or "  | (the log is empty)"
    return (
        f"convai-tui: the local stand-in did not start ({status}). "
        f"The end of its log ({log_path}):\n{tail}\n"
        "If livekit-server is missing, `convai-tui setup` installs it."
    )


def stop_standin_process(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if child.stdout is not None:
        child.stdout.close()
