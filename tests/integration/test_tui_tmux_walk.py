"""The first twenty minutes, walked in tmux against `convai-tui demo --characters 3` at
120×40 and 80×24: every tab by its key, the target switched while the message input has focus
(alt+digit, which tmux sends as ESC digit), the session ended and connected again with the key
the screen shows, and a quit that prints the session log, the character session id and the
command that resumes the conversation."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

REPO = Path(__file__).resolve().parents[2]

TAB_MARKERS = {
    "F3": "f: next filter",
    "F4": "target",
    "F5": "successful connections",
    "F6": "r runs",
    "F7": "context budget",
    "F10": "RTT",
    "F2": "Type a message",
}
"""Each tab's key and a text only that tab shows."""


class Tmux:
    def __init__(self, socket: str, width: int, height: int) -> None:
        self.socket = socket
        self.width, self.height = width, height

    def run(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return out.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "walk", *(["-l"] if literal else []), *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "walk")

    def wait_for(self, check: Callable[[str], bool], what: str, timeout_s: float = 60) -> str:
        deadline = time.monotonic() + timeout_s
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if check(text):
                return text
            time.sleep(0.3)
        raise AssertionError(f"{what} never showed ({self.width}x{self.height}):\n{text}")

    def wait_text(self, needle: str, timeout_s: float = 60) -> str:
        return self.wait_for(lambda text: needle in text, repr(needle), timeout_s)


@pytest.fixture(params=[(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def tmux(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tmux]:
    width, height = request.param
    session = Tmux(f"convai-walk-{uuid.uuid4().hex[:8]}", width, height)
    env = f"-u COLUMNS -u LINES PYTHONPATH={REPO} XDG_STATE_HOME={tmp_path}"  # Textual obeys them
    command = (
        f"cd {REPO} && env {env} {sys.executable} -m convai_tui demo --characters 3; "
        "echo WALK-EXITED $?; sleep 600"
    )
    size = ("-x", str(width), "-y", str(height))
    session.run("-f", "/dev/null", "new-session", "-d", "-s", "walk", *size, command)
    session.run("set-option", "-g", "window-size", "manual")
    session.run("resize-window", "-t", "walk", *size)
    try:
        yield session
    finally:
        subprocess.run(["tmux", "-L", session.socket, "kill-server"], capture_output=True)


def status_line(text: str) -> str:
    return text.splitlines()[0]


def test_walk_every_tab_switch_target_end_reconnect_and_quit(tmux: Tmux) -> None:
    tmux.wait_for(
        lambda text: "CONNECTED" in status_line(text) and "Ada [1]" in status_line(text),
        "the connected room",
    )
    footer = tmux.screen().rstrip().splitlines()[-1]
    assert footer.endswith("^p Commands"), footer  # nothing stray after it
    if tmux.width >= 120:
        assert "f6 Doctor" in footer and "f10 Link" in footer, footer

    for key, marker in TAB_MARKERS.items():
        tmux.keys(key)
        tmux.wait_text(marker, timeout_s=10)

    tmux.keys("h", "i")
    tmux.keys("M-2")  # the message input has focus
    tmux.wait_for(lambda text: "→ Bo [2]" in status_line(text), "target Bo", timeout_s=15)
    assert re.search(r"▊\s+hi\s", tmux.screen()), "alt+2 must not reach the input as text"

    tmux.keys("C-p")
    tmux.wait_text("Search for commands", timeout_s=10)
    tmux.keys("session: disconnect", literal=True)
    time.sleep(1)
    tmux.keys("Enter")
    tmux.wait_text("ctrl+r: connect again", timeout_s=20)
    if tmux.width >= 120:
        tmux.wait_for(
            lambda text: "^r Connect" in text.rstrip().splitlines()[-1], "^r in the footer", 10
        )

    tmux.keys("C-r")
    tmux.wait_for(lambda text: "CONNECTED" in status_line(text), "connected again", 60)

    tmux.keys("C-q")
    done = tmux.wait_text("WALK-EXITED", timeout_s=30)
    assert "WALK-EXITED 0" in done
    flat = done.replace("\n", "")
    assert "session log: " in done
    match = re.search(r"character_session_id: ([0-9a-f-]+)", flat)
    assert match, done
    assert f"resume: convai-tui demo --character-session-id {match.group(1)}" in flat
