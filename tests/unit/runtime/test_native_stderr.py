"""Native writes to fd 2 go to the log while `to_log()` is active; Python's stderr (what the UI
draws on) still reaches the terminal, and everything is restored afterwards. Run in a child
whose stderr is a pty, as under a real terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import termios
from pathlib import Path

from convai_tui.runtime import native_stderr

PROGRAM = """
import logging, os, sys
logging.basicConfig(filename=sys.argv[1], level=logging.WARNING, format="%(name)s %(message)s")
from convai_tui.runtime import native_stderr
with native_stderr.to_log():
    os.write(2, b"from native code\\npartial line without newline")
    sys.stderr.write("drawn by the UI\\n")
    sys.stderr.flush()
os.write(2, b"after the UI\\n")
print(native_stderr.lines_logged())
"""


def test_native_lines_go_to_the_log_and_the_ui_keeps_the_terminal(tmp_path: Path) -> None:
    log_file = tmp_path / "app.log"
    master, slave = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-c", PROGRAM, str(log_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=60,
            check=False,
        )
        os.close(slave)
        terminal = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(master)
    assert result.returncode == 0
    assert result.stdout.strip() == "2"
    assert b"drawn by the UI" in terminal and b"after the UI" in terminal
    assert b"from native code" not in terminal and b"partial line" not in terminal
    logged = log_file.read_text()
    assert "convai_tui.native native stderr: from native code" in logged
    assert "native stderr: partial line without newline" in logged


def test_with_stderr_not_a_terminal_and_no_tty_nothing_changes(tmp_path: Path) -> None:
    result = subprocess.run(  # a new session: no controlling terminal, so no /dev/tty
        [sys.executable, "-c", PROGRAM, str(tmp_path / "app.log")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        start_new_session=True,
    )
    assert result.returncode == 0, result.stderr
    assert "from native code" in result.stderr and "drawn by the UI" in result.stderr
    assert result.stdout.strip() == "0"


ABANDONED = """
import sys, time, tty
from convai_tui.runtime import native_stderr
from convai_tui.runtime.last_resort import end_process_after
with native_stderr.to_log():
    tty.setraw(0)  # as the UI's driver does
    sys.stderr.write("\\x1b[?1049h")
    sys.stderr.flush()
    with end_process_after(0.3, "a stuck step"):
        time.sleep(30)  # the event loop's thread, blocked in native code
"""


def test_a_process_ended_under_the_ui_gives_the_terminal_back(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    try:
        result = subprocess.run(
            [sys.executable, "-c", ABANDONED],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            timeout=60,
            check=False,
        )
        after = termios.tcgetattr(slave)
        terminal = os.read(master, 65536)
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode == 1
    assert terminal.index(b"\x1b[?1049h") < terminal.index(native_stderr.TERMINAL_RESET.encode())
    assert after == before  # cooked mode again, not the raw mode the UI left
