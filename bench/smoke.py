"""bench/run --smoke (in `make test`): every bench once at minimal size, so a bench that stops
measuring fails the suite instead of printing a zero. It checks that each figure is there, is a
number and is not zero, never how good it is: no thresholds, so load cannot make it fail.

What each bench needs is checked first. In CI (CI=true) anything missing is a failure; elsewhere
the benches that need it are skipped, loudly.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any

from bench.websdk_bench import HARNESS

FIGURES: dict[str, tuple[str, ...]] = {
    "session": ("connect_to_ready_ms.p50", "text_turn_ms.p50"),
    "voice": ("voice_round_trip_ms.p50",),
    "websdk": ("web_sdk.connect_to_ready_ms.p50", "web_sdk.text_turn_ms.p50",
               "web_sdk.cpu_percent.talking"),
    "tui": ("client_cpu_percent.idle", "client_cpu_percent.talking", "client_rss_mb.start",
            "client_rss_mb.end"),
    "cpu": ("cpu_reference.idle_percent.native_adm", "cpu_reference.idle_percent.headless",
            "cpu_reference.idle_percent.monitor", "cpu_reference.monitor_vs_native_adm",
            "cpu_reference.idle_percent.headless_room3", "cpu_reference.room3_idle_vs_single"),
    "ingest": ("event_ingest_per_s",),
    "link_view": ("link_view_paint_ms.0.repaint_p50_ms",),
    "eval_capacity": ("eval_capacity.max_all_pass_concurrency", "eval_capacity.sessions_per_core",
                      "eval_capacity.standin_share_at_max"),
    "turn_external": ("turn_timing_vs_external.median_total_ms",
                      "turn_timing_vs_external.median_external_ms"),
}
"""The figures each bench must produce, as dotted paths into the results."""

NEEDS: dict[str, tuple[str, ...]] = {
    "session": ("livekit-server",),
    "voice": ("livekit-server", "PulseAudio"),
    "websdk": ("livekit-server", "web-SDK harness"),
    "tui": ("livekit-server", "PulseAudio", "espeak-ng"),
    "cpu": ("livekit-server", "PulseAudio"),
    "ingest": (),
    "link_view": (),
    "eval_capacity": ("livekit-server",),
    "turn_external": ("livekit-server", "PulseAudio"),
}


def _livekit_server() -> str | None:
    from convai_tui.local.sfu.binary import LiveKitServerNotFound, find_livekit_server

    try:
        find_livekit_server()
    except LiveKitServerNotFound as exc:
        return str(exc)
    return None


def _pulse() -> str | None:
    from tests.audio.pulse import missing_tools

    missing = missing_tools()
    return f"missing {', '.join(missing)}" if missing else None


def _web_harness() -> str | None:
    """What bench/setup-webclient.sh provides (the check tests/integration/test_web_sdk.py
    makes)."""
    import hashlib

    problems = []
    if not Path("/usr/bin/chromium").exists():
        problems.append("/usr/bin/chromium missing")
    if shutil.which("node") is None:
        problems.append("node missing")
    modules = HARNESS / "node_modules"
    stamp = hashlib.sha256((HARNESS / "package-lock.json").read_bytes()).hexdigest()[:16]
    if not (modules / "@convai" / "web-sdk").exists():
        problems.append("bench/webclient/node_modules missing")
    elif not (modules / f".installed-{stamp}").exists():
        problems.append("bench/webclient/node_modules older than package-lock.json")
    return "; ".join(problems) + " (run bench/setup-webclient.sh)" if problems else None


def _espeak() -> str | None:
    return None if shutil.which("espeak-ng") else "espeak-ng missing"


CHECKS = {"livekit-server": _livekit_server, "PulseAudio": _pulse,
          "web-SDK harness": _web_harness, "espeak-ng": _espeak}


def runnable(only: set[str]) -> tuple[set[str], set[str] | None]:
    """The benches of `only` whose prerequisites are here, and the skipped ones; None instead
    of the skipped set when something is missing in CI (a failure there, never a skip)."""
    wanted = {need for name in only for need in NEEDS.get(name, ())}
    missing = {need: problem for need in sorted(wanted) if (problem := CHECKS[need]())}
    for need, problem in missing.items():
        print(f"bench smoke: {need} unavailable: {problem}")
    skipped = {name for name in only if any(need in missing for need in NEEDS.get(name, ()))}
    if missing and os.environ.get("CI", "").lower() == "true":
        print("bench smoke: FAILED — in CI every prerequisite is required")
        return only, None
    if skipped:
        print(f"!!! bench smoke: SKIPPING {', '.join(sorted(skipped))}")
    return only - skipped, skipped


def figure(out: dict[str, Any], path: str) -> Any:
    value: Any = out
    for key in path.split("."):
        if isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return None
    return value


def problems(out: dict[str, Any], only: set[str]) -> list[str]:
    """Each figure of the benches run that is missing, not a number, not finite or zero."""
    found = []
    for name in sorted(only):
        for path in FIGURES.get(name, ()):
            value = figure(out, path)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number:
                found.append(f"{path} is {value!r}, not a number")
            elif not math.isfinite(value) or value == 0:
                found.append(f"{path} is {value!r}")
    return found


def verdict(out: dict[str, Any], only: set[str]) -> int:
    found = problems(out, only)
    for problem in found:
        print(f"bench smoke: {problem}")
    for key in ("web_sdk", "cpu_reference", "voice_round_trip_ms", "client_cpu_percent"):
        section = out.get(key) or {}
        why = section.get("error") or section.get("errors") or section.get("status")
        if found and why:
            print(f"bench smoke: {key}: {why}")
    print(f"bench smoke: {'FAILED' if found else 'ok'} ({len(only)} benches, "
          f"{out['elapsed_s']} s)")
    return 1 if found else 0
