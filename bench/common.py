"""Shared helpers: the stand-in as a child process, /proc readings, percentiles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "convai_tui"]
TICKS = os.sysconf("SC_CLK_TCK")


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    ordered = sorted(values)

    def at(p: float) -> float:
        rank = p / 100 * (len(ordered) - 1)
        lo, hi = int(rank), min(int(rank) + 1, len(ordered) - 1)
        return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo), 1)

    return {"p50": at(50), "p95": at(95)}


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_percent(pid: int, seconds: float) -> float:
    """CPU use of `pid` over `seconds`, in percent of one core."""
    before, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return round(100 * (cpu_seconds(pid) - before) / (time.monotonic() - t0), 2)


def stop_process(process: subprocess.Popen[Any], sig: int = signal.SIGTERM,
                 within: float = 20.0) -> None:
    """Send `sig` to a still-running process, wait up to `within` s, then SIGKILL it."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(within)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class StandIn:
    """`convai-tui local-server --port 0` as a child; `details` is its JSON line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.details: dict[str, Any] = {}

    def __enter__(self) -> StandIn:
        self.process = subprocess.Popen(
            [*CLI, "local-server", "--port", "0", *self.args], cwd=ROOT, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the stand-in did not start")
        self.details = json.loads(line)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop_process(self.process)


def client_env(extra: dict[str, str], tmp: Path) -> dict[str, str]:
    return {**os.environ, **extra, "CONVAI_CONFIG": str(tmp / "none.toml"),
            "XDG_STATE_HOME": str(tmp / "state"), "PYTHONUNBUFFERED": "1"}
