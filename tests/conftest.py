"""Suite-wide guard: `make test` must leave no process running.

Every livekit-server, PulseAudio daemon, stand-in or client process this run starts must be gone
when it ends; one that outlives the run fails it, naming the process. The run's processes are
recognised by a marker variable they inherit (not CONVAI_-prefixed: tests strip those), so
unrelated processes on the same machine never count.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from convai_tui.runtime.shutdown import exit_process, livekit_runtime_started

_WATCHED = (
    "livekit-server",
    "/livekit-server/",
    "pulseaudio",
    "convai_tui local-server",
    "convai_tui run",
    "convai_tui.local",
    "parecord",
    "paplay",
    "chromium",
)


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


_MARKER_NAME = "CVT_TEST_RUN"
_MARKER = f"{_MARKER_NAME}={uuid.uuid4().hex}".encode()


def _started_by_this_run(pid: int) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return _MARKER in environ.split(b"\0")


_SESSION: list[pytest.Session] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _SESSION.append(session)
    name, _, value = _MARKER.decode().partition("=")
    os.environ[name] = value


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    deadline = time.monotonic() + 10
    leftovers: dict[int, str] = {}
    while time.monotonic() < deadline:
        leftovers = {
            pid: cmd
            for pid, cmd in _watched_processes().items()
            if pid != os.getpid() and _started_by_this_run(pid)
        }
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


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # The in-process integration tests start LiveKit's native runtime, whose exit-time
    # teardown can abort the process after the summary is printed (see convai_tui.runtime.shutdown).
    # Exit handlers (pytest's temp-dir clean-up among them) still run; the run's own verdict
    # is the exit status.
    if _SESSION and livekit_runtime_started():
        exit_process(int(_SESSION[0].exitstatus))
