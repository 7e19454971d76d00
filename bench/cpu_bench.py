"""cpu_reference: idle CPU of our client next to LiveKit's native audio path, in one run.

One stand-in (`--voice echo --tts none`: the character plays the user's mic back, digital silence
while it is inaudible, so an idle link is in Opus DTX both ways as with a real idle bot; LiveKit
still hands every received track to the client 100 times a second) and one private PulseAudio
daemon (tests/audio/pulse.py); the clients run one at a time, each in its own session:

- `native_adm`: bench/adm_client.py, `rtc.PlatformAudio` (WebRTC's capture/playout/APM);
- `headless`: `convai-tui run --headless --json --audio`;
- `monitor`: the TUI, `convai-tui run --audio`, in a 120×40 pseudo-terminal;
- `headless_room3`: the headless client in a three-character room (`--character` three times,
  the stand-in knowing the extra characters from `--characters`), measured once all three
  instances are ready: three remote tracks are received and mixed.

For each: connected + `settle_s`, then utime+stime of the process over `window_s`, in percent of
one core. `reps` rounds (5 by default): in each round every client runs once, and the order
rotates from round to round, so a busy moment of the shared machine spreads over all of them
and no client always follows the same one. Each client's figure is the median of its rounds,
with its spread (min, max, and max - min) stated beside it: the reference moves by several
points within one run on a shared machine. The ratios are of those medians (`..._vs_...`), and
the same ratio is also given round by round (`per_round`, each from one round's two samples)
with its median and range. The last round also records the per-thread split (thread names from
/proc/PID/task/*/comm).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import CLI, ROOT, TICKS, StandIn, client_env, cpu_seconds, stop_process
from bench.tui_bench import PtyClient

# With BENCH_BEFORE_ROOT=/path/to/another/checkout (e.g. `git archive <commit> convai_tui`
# unpacked there) our clients also run from that code, as `headless_before`, `monitor_before`
# and `headless_room3_before`, interleaved with the others: a before/after comparison from one
# run (the stand-in is this checkout's in both).
BEFORE_ROOT = os.environ.get("BENCH_BEFORE_ROOT")

Starter = Callable[[dict[str, str], dict[str, str]], tuple[subprocess.Popen[Any], Callable[[], bool], Callable[[], None]]]


def thread_seconds(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (threads of the same name summed; the main thread apart)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            if task.name == str(pid):
                name = f"main ({name})"  # the asyncio loop (and Textual) run here
            text = (task / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS
    return out


def measure(pid: int, seconds: float, per_thread: bool) -> dict[str, Any]:
    threads0 = thread_seconds(pid) if per_thread else {}
    before, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    out: dict[str, Any] = {"cpu": round(100 * (cpu_seconds(pid) - before) / wall, 2)}
    if per_thread:
        threads1 = thread_seconds(pid)
        split = {name: round(100 * (threads1[name] - threads0.get(name, 0.0)) / wall, 2)
                 for name in threads1}
        out["threads"] = dict(sorted(((k, v) for k, v in split.items() if v >= 0.05),
                                     key=lambda kv: -kv[1]))
    return out


class JsonLines:
    """A child's stdout, read by a thread as it comes (so the pipe never fills): the JSON
    objects it printed so far."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._reader.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                self.seen.append(value)

    def count(self, key: str, value: Any) -> int:
        """How many lines so far had ``key == value``."""
        return sum(1 for line in list(self.seen) if line.get(key) == value)

    def finish(self, within: float) -> None:
        """Wait for the rest of a child that ended."""
        self._reader.join(within)


def _line_ready(proc: subprocess.Popen[str], key: str, value: Any,
                times: int = 1) -> Callable[[], bool]:
    """A check that turns true once the child printed `times` JSON lines with ``key == value``."""
    lines = JsonLines(proc)
    return lambda: lines.count(key, value) >= times


def start_adm(details: dict[str, str], env: dict[str, str]) -> Any:
    proc = subprocess.Popen([sys.executable, "-m", "bench.adm_client", json.dumps(details)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    return proc, _line_ready(proc, "ready", True), lambda: stop_process(proc, signal.SIGTERM, 15)


def start_headless(details: dict[str, str], env: dict[str, str], root: Path = ROOT) -> Any:
    proc = subprocess.Popen(
        [*CLI, "run", "--headless", "--json", "--audio", "--duration", "300",
         "--connect-url", details["connect_url"], "--api-key", details["api_key"],
         "--character-id", details["character_id"]],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, _line_ready(proc, "type", "bot_ready"), lambda: stop_process(
        proc, signal.SIGINT, 15)


ROOM_CHARACTERS = ("bo", "cy")
"""Known to the stand-in (`--characters`) besides its own demo character."""


def start_headless_room3(details: dict[str, str], env: dict[str, str],
                         root: Path = ROOT) -> Any:
    characters = [details["character_id"], *ROOM_CHARACTERS]
    proc = subprocess.Popen(
        [*CLI, "run", "--headless", "--json", "--audio", "--duration", "300",
         "--connect-url", details["connect_url"], "--api-key", details["api_key"],
         *(arg for cid in characters for arg in ("--character", cid))],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready = _line_ready(proc, "status", "ready", times=len(characters))
    return proc, ready, lambda: stop_process(proc, signal.SIGINT, 15)


def start_monitor(details: dict[str, str], env: dict[str, str], root: Path = ROOT) -> Any:
    client = PtyClient([*CLI, "run", "--audio", "--connect-url", details["connect_url"],
                        "--api-key", details["api_key"], "--character-id",
                        details["character_id"]], env, cwd=root)
    return client.proc, lambda: client.seen("is ready"), client.close


CLIENTS: dict[str, Starter] = {"native_adm": start_adm, "headless": start_headless,
                               "monitor": start_monitor, "headless_room3": start_headless_room3}
if BEFORE_ROOT:
    CLIENTS["headless_before"] = partial(start_headless, root=Path(BEFORE_ROOT))
    CLIENTS["monitor_before"] = partial(start_monitor, root=Path(BEFORE_ROOT))
    CLIENTS["headless_room3_before"] = partial(start_headless_room3, root=Path(BEFORE_ROOT))


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "max": max(values), "range": round(max(values) - min(values), 2)}


def round_order(rep: int) -> list[str]:
    """The clients in round `rep`: the list rotated by one each round."""
    names = list(CLIENTS)
    shift = rep % len(names)
    return names[shift:] + names[:shift]


def run(quick: bool, reps: int = 5, settle_s: float = 3.0,
        window: float | None = None) -> dict[str, Any]:
    from tests.audio.pulse import PulseUnavailable, start_pulse

    window = window if window is not None else 10.0 if quick else 20.0
    try:
        pulse = start_pulse()
    except PulseUnavailable as exc:
        return {"cpu_reference": {"status": f"no PulseAudio: {exc}"}}
    tmp = Path(tempfile.mkdtemp(prefix="convai-cpu-bench-"))
    samples: dict[str, list[float]] = {name: [] for name in CLIENTS}
    rounds: list[dict[str, float]] = []
    threads: dict[str, dict[str, float]] = {}
    errors: dict[str, str] = {}
    try:
        with StandIn("--voice", "echo", "--tts", "none", "--characters",
                     ",".join(ROOM_CHARACTERS)) as standin:
            env = client_env(pulse.env, tmp)
            for rep in range(reps):
                rounds.append({})
                for name in round_order(rep):
                    proc, ready, stop = CLIENTS[name](standin.details, env)
                    try:
                        deadline = time.monotonic() + 60
                        while not ready():
                            if proc.poll() is not None or time.monotonic() > deadline:
                                raise RuntimeError(f"{name} did not become ready")
                            time.sleep(0.1)
                        time.sleep(settle_s)
                        got = measure(proc.pid, window, per_thread=rep == reps - 1)
                        samples[name].append(got["cpu"])
                        rounds[-1][name] = got["cpu"]
                        if "threads" in got:
                            threads[name] = got["threads"]
                    except RuntimeError as exc:
                        errors[name] = str(exc)
                    finally:
                        stop()
    finally:
        pulse.stop()
    med = {name: round(statistics.median(v), 2) if v else None for name, v in samples.items()}

    def ratio(a: str, b: str) -> float | None:
        x, y = med.get(a), med.get(b)
        return round(x / y, 2) if x is not None and y else None

    def per_round(a: str, b: str) -> dict[str, Any]:
        got = [round(r[a] / r[b], 2) for r in rounds if r.get(a) is not None and r.get(b)]
        return {"all": got, "median": round(statistics.median(got), 2) if got else None,
                **(spread(got) or {})}

    out: dict[str, Any] = {"idle_percent": med, "all": samples,
                           "spread": {name: spread(v) for name, v in samples.items()},
                           "window_s": window, "reps": reps, "order": "rotated each round",
                           "threads": threads,
                           "monitor_vs_native_adm": ratio("monitor", "native_adm"),
                           "headless_vs_monitor": ratio("headless", "monitor"),
                           "room3_idle_vs_single": ratio("headless_room3", "headless"),
                           "per_round": {
                               "monitor_vs_native_adm": per_round("monitor", "native_adm"),
                               "headless_vs_monitor": per_round("headless", "monitor"),
                               "room3_idle_vs_single": per_round("headless_room3",
                                                                 "headless")}}
    if BEFORE_ROOT:
        out["monitor_before_vs_native_adm"] = ratio("monitor_before", "native_adm")
        out["room3_before_vs_single_before"] = ratio("headless_room3_before", "headless_before")
        out["per_round"]["room3_before_vs_single_before"] = per_round(
            "headless_room3_before", "headless_before")
    if errors:
        out["errors"] = errors
    return {"cpu_reference": out}


def smoke() -> dict[str, Any]:
    """bench/run --smoke: one round, 1 s windows, every figure present, none meaningful."""
    return run(quick=True, reps=1, settle_s=0.3, window=1.0)


if __name__ == "__main__":  # python -m bench.cpu_bench [--quick] [--reps N]
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 5
    print(json.dumps(run("--quick" in sys.argv, reps), indent=1))
    os._exit(0)
