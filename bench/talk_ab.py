"""The monitor's talking CPU, two versions of the client interleaved in one run, per thread.

`BENCH_BEFORE_ROOT=/tmp/before python -m bench.talk_ab [ROUNDS] [SECONDS]`, where /tmp/before
holds another version's `convai_tui` (e.g. `git archive main convai_tui | tar -x -C /tmp/before`);
`BENCH_AFTER_ROOT` likewise (default: this checkout). One stand-in (`--voice echo --tts espeak`)
and one private PulseAudio daemon serve every session. Each round runs both versions, the order
alternating from round to round; each session is tui_bench's talking phase: the TUI in a 120×40
pseudo-terminal, connected + 2 s, then a text turn typed every 2 s for SECONDS (10 by default),
CPU from /proc/PID/stat and per thread from /proc/PID/task/*/stat, in percent of one core.
Prints each session as it ends, then one JSON line: per version its rounds, their median, the
per-thread medians and the load average seen. The machine is shared: compare the versions only
within one run.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import CLI, ROOT, StandIn, client_env, cpu_seconds
from bench.cpu_bench import thread_seconds
from bench.tui_bench import PtyClient

SETTLE_S = 2.0
TURN_EVERY_S = 2.0


def talk(details: dict[str, str], env: dict[str, str], root: Path, seconds: float) -> dict[str, Any]:
    """One session of the TUI from `root`: its CPU while a text turn is typed every 2 s."""
    client = PtyClient([*CLI, "run", "--audio", "--connect-url", details["connect_url"],
                        "--api-key", details["api_key"], "--character-id",
                        details["character_id"]], {**env, "PYTHONPATH": str(root)}, cwd=root)
    try:
        pid = client.proc.pid
        deadline = time.monotonic() + 60
        while not client.seen("is ready") and time.monotonic() < deadline:
            if client.proc.poll() is not None:
                raise RuntimeError(f"the TUI from {root} exited before the character was ready")
            time.sleep(0.1)
        time.sleep(SETTLE_S)
        turns, next_turn = 0, time.monotonic()
        threads_before, cpu_before, t0 = thread_seconds(pid), cpu_seconds(pid), time.monotonic()
        while time.monotonic() < t0 + seconds:
            if time.monotonic() >= next_turn:
                turns += 1
                next_turn += TURN_EVERY_S
                client.type(f"hello number {turns}\r")
            time.sleep(0.05)
        wall = time.monotonic() - t0
        cpu = 100 * (cpu_seconds(pid) - cpu_before) / wall
        threads_after = thread_seconds(pid)
        per_thread = {name: round(100 * (spent - threads_before.get(name, 0.0)) / wall, 2)
                      for name, spent in threads_after.items()}
        return {"cpu": round(cpu, 2), "threads": per_thread, "turns": turns,
                "echo_seen": client.seen("hello number 1"), "load1": round(os.getloadavg()[0], 2)}
    finally:
        client.close()


def summary(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    names = sorted(set().union(*(s["threads"] for s in sessions)))
    medians = {n: round(statistics.median(s["threads"].get(n, 0.0) for s in sessions), 2)
               for n in names}
    return {"rounds": [s["cpu"] for s in sessions],
            "median": round(statistics.median(s["cpu"] for s in sessions), 2),
            "threads_median": {n: v for n, v in sorted(medians.items(), key=lambda kv: -kv[1])
                               if v >= 0.1},
            "load1": [s["load1"] for s in sessions]}


def interleaved(rounds: int, order: Callable[[int], list[str]],
                session: Callable[[str, dict[str, str], dict[str, str]], dict[str, Any]],
                ) -> dict[str, list[dict[str, Any]]]:
    """``session(name, details, env)`` for every name of ``order(round)``, round after round,
    against one stand-in (`--voice echo --tts espeak`) and one private PulseAudio daemon."""
    from tests.audio.pulse import start_pulse

    sessions: dict[str, list[dict[str, Any]]] = {name: [] for name in order(0)}
    pulse = start_pulse()
    tmp = Path(tempfile.mkdtemp(prefix="convai-tui-talk-"))
    try:
        with StandIn("--voice", "echo", "--tts", "espeak") as standin:
            env = client_env(pulse.env, tmp)
            for r in range(rounds):
                for name in order(r):
                    result = session(name, standin.details, env)
                    sessions[name].append(result)
                    print(name, r, json.dumps(result), file=sys.stderr, flush=True)
    finally:
        pulse.stop()
    return sessions


def run(rounds: int, seconds: float) -> dict[str, Any]:
    before = os.environ.get("BENCH_BEFORE_ROOT")
    if not before:
        raise SystemExit("set BENCH_BEFORE_ROOT to a directory holding the other convai_tui")
    roots = {"before": Path(before), "after": Path(os.environ.get("BENCH_AFTER_ROOT", ROOT))}
    sessions = interleaved(
        rounds, lambda r: ["before", "after"] if r % 2 == 0 else ["after", "before"],
        lambda name, details, env: talk(details, env, roots[name], seconds))
    return {"talking_cpu_percent": {name: summary(s) for name, s in sessions.items()},
            "window_s": seconds, "roots": {name: str(root) for name, root in roots.items()}}


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a.replace(".", "", 1).isdigit()]
    print(json.dumps(run(int(args[0]) if args else 4, float(args[1]) if len(args) > 1 else 10.0)))
