"""client_cpu_percent {idle, talking} and client_rss_mb {start, end}: the real TUI
(`convai-tui run`, audio on, meters live) in a pseudo-terminal (120×40, xterm-256color) against
the stand-in (`--voice echo --tts espeak`), with a private PulseAudio daemon
(tests/audio/pulse.py) as microphone and speaker.

idle    = connected, no input, for `seconds` (20 s; 10 s with --quick)
talking = a text turn typed every 2 s (espeak replies played on the speaker) for `seconds`
CPU is utime+stime of the client process (all threads) from /proc/PID/stat over the window, in
percent of one core; RSS from /proc/PID/status at connect (start) and after talking (end)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import CLI, ROOT, StandIn, client_env, cpu_seconds, rss_mb, stop_process

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class PtyClient:
    def __init__(self, argv: list[str], env: dict[str, str], cols: int = 120,
                 rows: int = 40, cwd: Path = ROOT) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.master = master
        self.proc = subprocess.Popen(argv, cwd=cwd, env={**env, "TERM": "xterm-256color"},
                                     stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True)
        os.close(slave)
        self.screen = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.5)
                if ready:
                    chunk = os.read(self.master, 65536)
                    if not chunk:
                        return
                    with self._lock:
                        self.screen += ANSI.sub(b"", chunk)
                        del self.screen[:-200_000]
            except OSError:
                return

    def seen(self, text: str) -> bool:
        with self._lock:
            return text.encode() in self.screen

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.type("\x11")  # ctrl+q
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                stop_process(self.proc, within=10)
        os.close(self.master)


def _cpu_over(pid: int, seconds: float, during: Any = None) -> float:
    before, t0 = cpu_seconds(pid), time.monotonic()
    deadline = t0 + seconds
    while time.monotonic() < deadline:
        if during is not None:
            during()
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    return round(100 * (cpu_seconds(pid) - before) / (time.monotonic() - t0), 2)


def run(quick: bool, smoke: bool = False) -> dict[str, Any]:
    from tests.audio.pulse import PulseUnavailable, start_pulse

    seconds = 1.0 if smoke else 10.0 if quick else 20.0
    settle = 0.5 if smoke else 2.0
    try:
        pulse = start_pulse()
    except PulseUnavailable as exc:
        status = f"no PulseAudio: {exc}"
        return {"client_cpu_percent": {"idle": None, "talking": None, "status": status},
                "client_rss_mb": {"start": None, "end": None, "status": status}}
    tmp = Path(tempfile.mkdtemp(prefix="convai-tui-bench-"))
    client: PtyClient | None = None
    try:
        with StandIn("--voice", "echo", "--tts", "espeak") as standin:
            d = standin.details
            env = client_env(pulse.env, tmp)
            client = PtyClient([*CLI, "run", "--audio", "--connect-url", d["connect_url"],
                                "--api-key", d["api_key"], "--character-id",
                                d["character_id"]], env)
            pid = client.proc.pid
            deadline = time.monotonic() + 60
            while not client.seen("is ready") and time.monotonic() < deadline:
                if client.proc.poll() is not None:
                    raise RuntimeError("the TUI exited before the character was ready")
                time.sleep(0.1)
            connected = client.seen("is ready")
            time.sleep(settle)  # the greeting settles; meters are running
            rss_start = round(rss_mb(pid), 1)
            idle = _cpu_over(pid, seconds)
            turn = {"n": 0, "next": time.monotonic()}

            def say() -> None:
                if time.monotonic() >= turn["next"]:
                    turn["n"] += 1
                    turn["next"] += 2.0
                    client.type(f"hello number {turn['n']}\r")

            talking = _cpu_over(pid, seconds, say)
            time.sleep(settle)  # the last reply plays out
            rss_end = round(rss_mb(pid), 1)
            replies = client.seen("hello number 1")
            return {
                "client_cpu_percent": {"idle": idle, "talking": talking, "window_s": seconds,
                                       "turns": turn["n"], "connected": connected,
                                       "echo_seen": replies},
                "client_rss_mb": {"start": rss_start, "end": rss_end},
            }
    finally:
        if client is not None:
            client.close()
        pulse.stop()


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv, "--smoke" in sys.argv)))
