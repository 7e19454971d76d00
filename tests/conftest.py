"""Suite-wide guard: `make test` must leave no process running.

Every livekit-server, PulseAudio daemon, stand-in or client process that appears during the run
must be gone when it ends; one that outlives the run fails it, naming the process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

_WATCHED = ("livekit-server", "/livekit-server/", "pulseaudio", "convai_tui local-server",
            "convai_tui run", "convai_tui.local", "parecord", "paplay", "chromium")


def _watched_processes() -> dict[int, str]:
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(marker in cmdline for marker in _WATCHED):
            found[int(entry.name)] = cmdline.strip()[:160]
    return found


_BEFORE: dict[int, str] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _BEFORE.update(_watched_processes())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    deadline = time.monotonic() + 10
    leftovers: dict[int, str] = {}
    while time.monotonic() < deadline:
        leftovers = {pid: cmd for pid, cmd in _watched_processes().items()
                     if pid not in _BEFORE and pid != os.getpid()}
        if not leftovers:
            return
        time.sleep(0.5)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"  pid {pid}: {cmd}" for pid, cmd in sorted(leftovers.items())]
    message = "processes started by the tests are still running:\n" + "\n".join(lines)
    if reporter is not None:
        reporter.write_line(f"ERROR: {message}", red=True)
    if os.environ.get("CI", "").lower() == "true":
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
