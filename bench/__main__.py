"""bench/run [--quick | --smoke] [--only NAME,...]: measure, print a table, write
results/latest.json (results/smoke.json with --smoke)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    common,
    cpu_bench,
    eval_capacity,
    ingest_bench,
    link_view_bench,
    session_bench,
    smoke,
    tui_bench,
    turn_timing_external,
    voice_bench,
    websdk_bench,
)
from convai_tui.runtime.shutdown import exit_process

RESULTS = Path(__file__).resolve().parent / "results"
ALL = ("session", "voice", "tui", "cpu", "ingest", "websdk", "link_view", "eval_capacity",
       "turn_external")


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    load = os.getloadavg()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "kernel": platform.release(), "loadavg_at_start": [round(x, 2) for x in load]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--smoke", action="store_true",
                      help="every bench once at minimal size; fails if a figure is missing, "
                      "zero or not a number (no thresholds)")
    parser.add_argument("--only", default=",".join(ALL))
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    if args.smoke:
        only, skipped = smoke.runnable(only)
        if skipped is None:
            return 1
    runs = 1 if args.smoke else 5 if args.quick else 20
    started = time.monotonic()
    out: dict[str, Any] = {"quick": args.quick, "smoke": args.smoke, "machine": machine(),
                           "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    timings: dict[str, float] = {}

    def timed(name: str, part: Callable[[], dict[str, Any]]) -> None:
        if name in only:
            t0 = time.monotonic()
            out.update(part())
            timings[name] = round(time.monotonic() - t0, 1)

    if only & {"session", "voice", "websdk"}:
        with common.StandIn("--voice", "echo", "--tts", "none") as standin:
            details = standin.details
            timed("session", lambda: session_bench.run(details, runs))
            timed("voice", lambda: voice_bench.run(details, runs, smoke=args.smoke))
            talk_s = 1 if args.smoke else 5 if args.quick else 15
            timed("websdk", lambda: {"web_sdk": websdk_bench.run(details, runs, talk_s, None)})
    timed("tui", lambda: tui_bench.run(args.quick, smoke=args.smoke))
    timed("cpu", lambda: cpu_bench.smoke() if args.smoke else cpu_bench.run(args.quick))
    out["audio_goals"] = audio_goals(out)
    timed("ingest", lambda: ingest_bench.run(args.quick, smoke=args.smoke))
    timed("link_view", lambda: link_view_bench.run(3, ((80, 24),)) if args.smoke
          else link_view_bench.run())
    timed("eval_capacity", lambda: eval_capacity.run(smoke=args.smoke))
    timed("turn_external", lambda: turn_timing_external.bench(1 if args.smoke else 5))
    out["elapsed_by_bench_s"] = timings
    # Keys of parts not run (--only) are recorded as null so every key exists.
    out.setdefault("voice_round_trip_ms", {"p50": None, "p95": None, "status": "not run"})
    out.setdefault("client_cpu_percent", {"idle": None, "talking": None,
                                          "status": "not run"})
    out.setdefault("client_rss_mb", {"start": None, "end": None, "status": "not run"})
    out.setdefault("event_ingest_per_s", None)
    out["elapsed_s"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    written = RESULTS / ("smoke.json" if args.smoke else "latest.json")
    written.write_text(json.dumps(out, indent=2) + "\n")
    table(out, written)
    if args.smoke:
        return smoke.verdict(out, only)
    return 0


def audio_goals(out: dict[str, Any]) -> dict[str, Any]:
    """The CPU and voice goals as ratios of figures from this run (None: a part was not run).

    CPU: monitor idle <= 1.0x the native-ADM reference, monitor talking <= 1.5x the web SDK;
    headless idle <= monitor idle; voice p50/p95 <= 150/200 ms with no underrun."""
    ref = out.get("cpu_reference") or {}
    idle = ref.get("idle_percent") or {}
    adm, monitor, headless = idle.get("native_adm"), idle.get("monitor"), idle.get("headless")
    talking = (out.get("client_cpu_percent") or {}).get("talking")
    web = ((out.get("web_sdk") or {}).get("cpu_percent") or {}).get("talking")
    voice = out.get("voice_round_trip_ms") or {}
    audio = voice.get("client_audio") or {}

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    def within(value: float | None, limit: float) -> bool | None:
        return None if value is None else value <= limit

    goals: dict[str, Any] = {
        "monitor_idle_vs_native_adm": ratio(monitor, adm),
        "monitor_talking_vs_web_sdk": ratio(talking, web),
        "headless_vs_monitor_idle": ratio(headless, monitor),
        "voice_p50_ms": voice.get("p50"),
        "voice_p95_ms": voice.get("p95"),
        "voice_underruns": audio.get("underruns"),
    }
    goals["met"] = {
        "monitor_idle_le_1.0x_native_adm": within(goals["monitor_idle_vs_native_adm"], 1.0),
        "monitor_talking_le_1.5x_web_sdk": within(goals["monitor_talking_vs_web_sdk"], 1.5),
        "headless_le_monitor": within(goals["headless_vs_monitor_idle"], 1.0),
        "voice_p50_le_150": within(goals["voice_p50_ms"], 150),
        "voice_p95_le_200": within(goals["voice_p95_ms"], 200),
        "voice_0_underruns": None if goals["voice_underruns"] is None
        else goals["voice_underruns"] == 0,
    }
    return goals


def table(out: dict[str, Any], written: Path) -> None:
    def pq(d: dict[str, Any] | None) -> str:
        d = d or {}
        return f"p50 {d.get('p50')}  p95 {d.get('p95')}"
    web = out.get("web_sdk", {})
    rows = [
        ("connect_to_ready_ms", pq(out.get("connect_to_ready_ms"))),
        ("text_turn_ms", pq(out.get("text_turn_ms"))),
        ("voice_round_trip_ms", pq(out.get("voice_round_trip_ms"))),
        ("client_cpu_percent", str(out.get("client_cpu_percent"))),
        ("client_rss_mb", str(out.get("client_rss_mb"))),
        ("event_ingest_per_s", str(out.get("event_ingest_per_s"))),
        ("web_sdk.connect_to_ready_ms", pq(web.get("connect_to_ready_ms"))),
        ("web_sdk.cpu_percent.talking", str((web.get("cpu_percent") or {}).get("talking"))),
        ("cpu idle: native ADM / headless / monitor",
         " / ".join(str(((out.get("cpu_reference") or {}).get("idle_percent") or {}).get(k))
                    for k in ("native_adm", "headless", "monitor"))),
        ("cpu idle: room of 3 vs single",
         str((out.get("cpu_reference") or {}).get("room3_idle_vs_single"))),
        ("eval sessions held (per core)",
         f"{(out.get('eval_capacity') or {}).get('max_all_pass_concurrency')} "
         f"({(out.get('eval_capacity') or {}).get('sessions_per_core')}), stand-in share "
         f"{(out.get('eval_capacity') or {}).get('standin_share_at_max')}"),
        ("voice turn_timing vs external",
         "median difference {median_difference_ms} ms, range {range_ms} ms over {paired} turns"
         .format(**(out.get("turn_timing_vs_external") or {"median_difference_ms": None,
                                                            "range_ms": None, "paired": 0}))),
        ("audio goals (ratios)", str({k: v for k, v in out["audio_goals"].items()
                                      if k != "met"})),
        ("audio goals met", str(out["audio_goals"]["met"])),
    ]
    for name, value in rows:
        print(f"{name:30} {value}")
    if web.get("error"):
        print(f"web_sdk error: {web['error'][:300]}")
    print(f"elapsed {out['elapsed_s']} s {out.get('elapsed_by_bench_s')}; wrote {written}")


if __name__ == "__main__":
    exit_process(main())
