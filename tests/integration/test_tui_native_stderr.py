"""The monitor under a real terminal (a pty) while native code writes to fd 2, as ALSA,
PortAudio and libwebrtc do: the line never reaches the screen, it reaches the log file. And
with stderr redirected to a file (`2>file`), the UI still draws on the terminal."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.headless_harness import LocalServer, clean_env
from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration

MARKER = "ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred"
# What a C library does: write(2, ...) from a thread of its own, once the monitor runs (fd 2 is
# then the pipe to the log, or the user's file; before that a write rightly reaches the terminal, so waiting a fixed
# time would make the test depend on how fast the machine starts the app).
WRAPPER = f"""
import os, runpy, sys, threading, time
def native():
    while os.isatty(2):
        time.sleep(0.05)
    for _ in range(3):
        os.write(2, b"{MARKER}\\n")
        time.sleep(0.2)
threading.Thread(target=native, daemon=True).start()
sys.argv = ["convai-tui", *sys.argv[1:]]
runpy.run_module("convai_tui", run_name="__main__")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    require_livekit_server()
    standin = LocalServer.start(tmp_path_factory.mktemp("standin"))
    yield standin
    standin.close()


def _read(fd: int, seconds: float) -> bytes:
    out = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    return out


def _run_tui(server: LocalServer, tmp: Path, stderr_file: Path | None) -> tuple[bytes, int]:
    """Run the monitor on a pty until it shows the session connected and the native lines were
    written (at most 60 s), quit with ctrl+q; (screen bytes, status)."""
    env = clean_env(tmp)
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
    argv = [
        sys.executable,
        "-c",
        WRAPPER,
        "run",
        "--connect-url",
        server.connect_url,
        "--character-id",
        server.character_id,
        "--api-key",
        server.api_key,
        "--no-audio",
    ]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        if stderr_file is not None:
            target = os.open(stderr_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, 2)
        os.execve(sys.executable, argv, env)
    try:
        screen = b""
        deadline = time.monotonic() + 60.0
        # ctrl+q only once the monitor reads keys (shown connected): typed earlier, the terminal
        # driver would still be in cooked mode and take it as XON.
        while time.monotonic() < deadline and (
            _native_lines(tmp, stderr_file) < 3 or b"CONNECTED" not in screen
        ):
            screen += _read(fd, 0.5)
        screen += _read(fd, 1.0)
        os.write(fd, b"\x11")  # ctrl+q
        screen += _read(fd, 15.0)
        for _ in range(100):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return screen, os.waitstatus_to_exitcode(status)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError(f"the monitor did not quit; screen tail: {screen[-2000:]!r}")
    finally:
        os.close(fd)


def _native_lines(tmp: Path, stderr_file: Path | None) -> int:
    """How many of the wrapper's lines have landed where they should: the log, or the file."""
    paths = [stderr_file] if stderr_file is not None else list((tmp / "state").rglob("*.log"))
    return sum(p.read_text(errors="replace").count(MARKER) for p in paths if p.exists())


def _log(tmp: Path) -> str:
    logs = list((tmp / "state").rglob("convai-tui.log"))
    assert len(logs) == 1, logs
    return logs[0].read_text()


def test_native_stderr_goes_to_the_log_not_over_the_screen(
    server: LocalServer, tmp_path: Path
) -> None:
    screen, code = _run_tui(server, tmp_path, None)
    assert code == 0, screen[-2000:]
    assert b"\x1b[?1049h" in screen  # the UI did draw on this terminal
    assert MARKER.encode() not in screen
    assert _log(tmp_path).count(f"native stderr: {MARKER}") == 3


def test_with_stderr_redirected_the_ui_still_draws_on_the_terminal(
    server: LocalServer, tmp_path: Path
) -> None:
    stderr_file = tmp_path / "stderr.txt"
    screen, code = _run_tui(server, tmp_path, stderr_file)
    assert code == 0, screen[-2000:]
    assert b"\x1b[?1049h" in screen
    redirected = stderr_file.read_text(errors="replace")
    assert "\x1b[" not in redirected  # no UI in the file
    assert MARKER in redirected  # native messages stay where the user sent stderr
    assert MARKER.encode() not in screen
