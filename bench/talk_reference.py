"""Talking CPU in one run: the monitor, LiveKit's native audio module, the web SDK (two ways).

`python -m bench.talk_reference [ROUNDS] [SECONDS]` (3 rounds of 10 s windows by default). One
stand-in (`--voice echo --tts espeak`) and one private PulseAudio daemon serve every session; in
each round every client runs once, the order rotating from round to round:

- `monitor`: tui_bench's talking phase (the TUI in a 120×40 pty, a text turn typed every 2 s,
  the espeak replies played), as `bench/run` measures `client_cpu_percent.talking`;
- `native_adm`: bench/adm_client.py `--say-every 2`: the same text turns every 2 s, its
  microphone, echo cancellation and playout in LiveKit's native audio device module
  (`rtc.PlatformAudio`), no Python on the audio path and no UI;
- `web_sdk`: `bench/run`'s web-SDK talking window (headless Chromium, its fake microphone,
  the stand-in echoing it back), every Chromium process counted;
- `web_sdk_alike`: the web SDK in the monitor's conversation: a text turn every 2 s whose
  replies it plays through the same private PulseAudio (Chromium's streams are seen there as
  sink inputs; without its fake capture device it opened no capture stream there, so its
  microphone side is still not like ours).

Each figure is utime+stime over the window in percent of one core, the median of the rounds
beside the rounds; the ratios are of the medians. `native_adm_vs_web_sdk` is a talking session
without any of our code: what LiveKit's own native client costs next to the browser.
Prints one JSON line. The machine is shared: compare the clients only within one run.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

from bench import websdk_bench
from bench.common import ROOT, stop_process
from bench.cpu_bench import JsonLines, measure
from bench.talk_ab import SETTLE_S, TURN_EVERY_S, interleaved, talk


def adm_talk(details: dict[str, str], env: dict[str, str], seconds: float) -> dict[str, Any]:
    """The native-ADM client's CPU while it sends a text turn every TURN_EVERY_S."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.adm_client", json.dumps(details),
         "--say-every", str(TURN_EVERY_S)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = JsonLines(proc)
    try:
        deadline = time.monotonic() + 60
        while not lines.count("bot_ready", True):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the native-ADM client's character was not ready in 60 s")
            time.sleep(0.1)
        time.sleep(SETTLE_S)
        result = measure(proc.pid, seconds, per_thread=True)
        load1 = round(os.getloadavg()[0], 2)
    finally:
        stop_process(proc, signal.SIGTERM, 15)
    lines.finish(5)
    # Replies that started speaking while it talked: the same conversation as the monitor's.
    replies = lines.count("bot_started_speaking", True)
    if not replies:
        raise RuntimeError("the native-ADM client's text turns got no spoken reply")
    return {**result, "replies": replies, "load1": load1}


def web_talk(details: dict[str, str], seconds: float,
             sound_env: dict[str, str] | None = None) -> dict[str, Any]:
    """`bench/run`'s web-SDK talking window; with ``sound_env``, the monitor's conversation
    instead: a text turn every TURN_EVERY_S, captured and played through that sound server."""
    alike = sound_env is not None
    result = websdk_bench.run(details, 1, seconds, None, TURN_EVERY_S if alike else None,
                              sound_env)
    cpu = (result.get("cpu_percent") or {}).get("talking")
    if cpu is None:
        raise RuntimeError(f"the web SDK did not talk: {result.get('error')}")
    if alike and not result.get("replies"):
        raise RuntimeError("the web SDK's text turns got no spoken reply")
    return {"cpu": cpu, "threads": {}, "replies": result.get("replies"),
            "load1": round(os.getloadavg()[0], 2)}


def run(rounds: int, seconds: float) -> dict[str, Any]:
    names = ["monitor", "native_adm", "web_sdk", "web_sdk_alike"]

    def session(name: str, details: dict[str, str], env: dict[str, str]) -> dict[str, Any]:
        if name == "monitor":
            return talk(details, env, ROOT, seconds)
        if name == "native_adm":
            return adm_talk(details, env, seconds)
        return web_talk(details, seconds, env if name == "web_sdk_alike" else None)

    sessions = interleaved(rounds, lambda r: names[r % 4:] + names[:r % 4], session)
    medians = {name: statistics.median(s["cpu"] for s in results)
               for name, results in sessions.items()}
    out: dict[str, Any] = {
        "talking_cpu_percent": {
            name: {"median": round(medians[name], 2), "rounds": [s["cpu"] for s in results],
                   "load1": [s["load1"] for s in results],
                   "threads_last_round": results[-1]["threads"]}
            for name, results in sessions.items()},
        "window_s": seconds,
    }
    for a, b in (("monitor", "web_sdk"), ("native_adm", "web_sdk"), ("monitor", "native_adm"),
                 ("monitor", "web_sdk_alike"), ("native_adm", "web_sdk_alike")):
        out[f"{a}_vs_{b}"] = round(medians[a] / medians[b], 2) if medians[b] else None
    return out


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a.replace(".", "", 1).isdigit()]
    print(json.dumps(run(int(args[0]) if args else 3, float(args[1]) if len(args) > 1 else 10.0)))
    os._exit(0)
