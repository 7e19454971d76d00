"""Native writes to fd 2 go to the log while `to_log()` is active; Python's stderr (what the UI
draws on) still reaches the terminal, and everything is restored afterwards. Run in a child
whose stderr is a pty, as under a real terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

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
