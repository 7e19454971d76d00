"""Soak: one session against `convai-tui local-server`, a text turn every 5 s, for a duration
(default 600 s; `make soak DURATION=…`). Reports the client's RSS and open file descriptors
over time and fails on growth beyond the bounds.

The client (SessionCore, the real LiveKit SDK) runs in this process, so /proc/self is what is
measured; the stand-in runs as a child process and is not. Growth is measured from the end of
a warm-up (the first turns load codecs, caches and the SDK's threads) to the largest of the
last three samples.

Output: one JSON object per sample on stdout, then a summary object
{"summary": {...}, "ok": bool}; exit 0 when every turn completed and growth is within bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convai_tui.core.api import events as ev  # noqa: E402
from convai_tui.core.api.states import SessionState  # noqa: E402
from convai_tui.core.session import SessionCore  # noqa: E402
from convai_tui.core.settings.session_settings import SessionSettings  # noqa: E402
from convai_tui.runtime.shutdown import exit_process  # noqa: E402

TURN_EVERY_S = 5.0
TURN_TIMEOUT_S = 20.0


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def start_standin() -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    child = subprocess.Popen(
        [sys.executable, "-m", "convai_tui", "local-server", "--port", "0", "--tts", "tone",
         "--idle-warning-after", "100000", "--idle-timeout-after", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.wait(timeout=10)
        raise SystemExit(f"soak: the local stand-in did not start (exit {child.returncode})")
    return child, json.loads(line)


def stop(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)


async def soak(details: dict[str, str], duration_s: float, warmup_s: float,
               out: Any) -> dict[str, Any]:
    settings = SessionSettings(connect_url=details["connect_url"], api_key=details["api_key"],
                               character_id=details["character_id"])
    core = SessionCore(settings)
    sub = core.subscribe()
    errors: list[str] = []
    turns_done = 0
    turn_done = asyncio.Event()
    ready = asyncio.Event()

    async def watch() -> None:
        nonlocal turns_done
        async for event in sub:
            if isinstance(event, ev.BotReady):
                ready.set()
            elif isinstance(event, ev.TurnCompleted):
                turns_done += 1
                turn_done.set()
            elif isinstance(event, ev.ErrorRaised):
                errors.append(event.error.code)

    watcher = asyncio.create_task(watch())
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    turns_sent = 0
    try:
        await core.start()
        await asyncio.wait_for(ready.wait(), 30)
        while (elapsed := time.monotonic() - started) < duration_s:
            turn_done.clear()
            outcome = await core.send_text(f"soak turn {turns_sent + 1}")
            turns_sent += 1
            if outcome.status == "sent":
                try:
                    await asyncio.wait_for(turn_done.wait(), TURN_TIMEOUT_S)
                except TimeoutError:
                    errors.append("soak.turn_timeout")
            sample = {"t_s": round(time.monotonic() - started, 1), "rss_kib": rss_kib(),
                      "fds": open_fds(), "turns": turns_done, "state": core.state.value}
            samples.append(sample)
            print(json.dumps(sample), file=out, flush=True)
            next_at = started + turns_sent * TURN_EVERY_S
            await asyncio.sleep(max(0.0, min(next_at, started + duration_s) -
                                    time.monotonic()))
        del elapsed
        final_state = core.state
    finally:
        await core.close()
        watcher.cancel()
    base = next((s for s in samples if s["t_s"] >= warmup_s), samples[0])
    tail = samples[-3:]
    return {
        "duration_s": round(time.monotonic() - started, 1),
        "turns_sent": turns_sent,
        "turns_completed": turns_done,
        "errors": errors,
        "final_state": final_state.value,
        "rss_kib": {"first": samples[0]["rss_kib"], "after_warmup": base["rss_kib"],
                    "last": samples[-1]["rss_kib"], "max": max(s["rss_kib"] for s in samples)},
        "fds": {"first": samples[0]["fds"], "after_warmup": base["fds"],
                "last": samples[-1]["fds"], "max": max(s["fds"] for s in samples)},
        "rss_growth_kib": max(s["rss_kib"] for s in tail) - base["rss_kib"],
        "fd_growth": max(s["fds"] for s in tail) - base["fds"],
        "connected": final_state is SessionState.CONNECTED,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, metavar="S")
    parser.add_argument("--warmup", type=float, default=None, metavar="S",
                        help="growth is measured from here (default: 20%% of the duration, "
                             "at least 15 s)")
    parser.add_argument("--max-rss-growth-mib", type=float, default=10.0, metavar="MIB")
    parser.add_argument("--max-fd-growth", type=int, default=5, metavar="N")
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else max(15.0, args.duration * 0.2)
    child, details = start_standin()
    try:
        summary = asyncio.run(soak(details, args.duration, warmup, sys.stdout))
    finally:
        stop(child)
    summary["bounds"] = {"max_rss_growth_mib": args.max_rss_growth_mib,
                         "max_fd_growth": args.max_fd_growth, "warmup_s": warmup}
    ok = (summary["connected"] and not summary["errors"]
          and summary["turns_completed"] == summary["turns_sent"]
          and summary["rss_growth_kib"] <= args.max_rss_growth_mib * 1024
          and summary["fd_growth"] <= args.max_fd_growth)
    print(json.dumps({"summary": summary, "ok": ok}), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    exit_process(main())
