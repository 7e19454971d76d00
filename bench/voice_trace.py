"""bench.voice_ab with a trace: where each session's round trip went, per version.

`BENCH_BEFORE_ROOT=<dir> python -m bench.voice_trace [ROUNDS] [CHIRPS]` runs voice_ab's
interleaved sessions with bench/voice_trace_site.py installed as ``sitecustomize`` in both
clients and the stand-in (each client runs from a directory of its own holding a link to its
``convai_tui`` and the hook; the checkouts are not touched). Per chirp, on one monotonic clock:
the client's microphone callback, the stand-in's echo receiving the chirp, the chirp arriving
in the client's jitter buffer, and the pull that hands it to the device. Prints, per session,
the medians of: mic → stand-in, stand-in → client (the two WebRTC legs, the stand-in between),
the client's wait (jitter buffer to device block), and the rest of the measured round trip
(input and output devices, the bench's loopbacks); then voice_ab's JSON line. The machine is
shared: compare the versions within one run.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT
from bench.voice_ab import compare

HOOK = Path(__file__).with_name("voice_trace_site.py")


def traced_root(parent: Path, name: str, root: Path) -> Path:
    """A directory that runs ``root``'s client with the trace installed."""
    traced = parent / name
    traced.mkdir()
    (traced / "convai_tui").symlink_to(root.resolve() / "convai_tui")
    shutil.copy(HOOK, traced / "sitecustomize.py")
    return traced


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def session_legs(client: list[dict[str, Any]], standin: list[float]) -> dict[str, Any]:
    """Medians over one session's chirps (ms), and its jitter buffer as the last chirp found it."""
    outbound: list[float] = []
    inbound: list[float] = []
    for row in client:
        mic_at, arrived_at = row.get("mic_at"), row["arrived_at"]
        heard = [t for t in standin if mic_at is not None and mic_at < t < arrived_at]
        if heard:
            outbound.append(1000 * (heard[0] - mic_at))
            inbound.append(1000 * (arrived_at - heard[0]))
    last = client[-1] if client else {}
    return {
        "chirps": len(client),
        "mic_to_standin": _median(outbound),
        "standin_to_client": _median(inbound),
        "mic_to_client": _median(
            [1000 * (r["arrived_at"] - r["mic_at"]) for r in client if r.get("mic_at")]
        ),
        "client_wait": _median([1000 * (r["played_at"] - r["arrived_at"]) for r in client]),
        "depth_ms": _median([r["depth_ms"] for r in client]),
        "target_ms": last.get("target_ms"),
        "trimmed_samples": last.get("trimmed"),
        "underruns": last.get("underruns"),
    }


def main(rounds: int, chirps: int) -> dict[str, Any]:
    before_root = os.environ.get("BENCH_BEFORE_ROOT")
    if not before_root:
        sys.exit("set BENCH_BEFORE_ROOT to a directory holding the other convai_tui")
    after_root = Path(os.environ.get("BENCH_AFTER_ROOT", ROOT))
    work = Path(tempfile.mkdtemp(prefix="convai-voice-trace-"))
    traces = work / "trace"
    traces.mkdir()
    standin_hook = work / "standin"
    standin_hook.mkdir()
    shutil.copy(HOOK, standin_hook / "sitecustomize.py")
    roots = {"before": traced_root(work, "before", Path(before_root)),
             "after": traced_root(work, "after", after_root)}
    # The stand-in inherits this environment; each client's PYTHONPATH is its own root.
    os.environ["VOICE_TRACE_DIR"] = str(traces)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(standin_hook), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    result = compare(roots["before"], roots["after"], rounds, chirps)
    standin = sorted(t for path in traces.glob("standin-*.jsonl")
                     for t in (r["received_at"] for r in _rows(path)))
    for name in roots:
        # One file per client process; sessions of a version ran one after another.
        files = sorted(traces.glob(f"{name}-*.jsonl"), key=lambda p: p.stat().st_mtime)
        p50s = result[name]["session_p50s"]
        sessions = []
        for index, path in enumerate(files):
            legs = session_legs(_rows(path), standin)
            p50 = p50s[index] if index < len(p50s) and len(files) == len(p50s) else None
            parts = (legs["mic_to_client"], legs["client_wait"])
            if p50 is not None and None not in parts:
                legs["rest"] = round(p50 - sum(p for p in parts if p is not None), 1)
            sessions.append({"round_trip_p50": p50, **legs})
            print(f"{name} session {index + 1}: " + ", ".join(
                f"{k} {v}" for k, v in sessions[-1].items()), file=sys.stderr)
        result[name]["trace"] = sessions
    return result


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    rounds, chirps = (args + [3, 10][len(args):])[:2]
    print(json.dumps(main(rounds, chirps)))
    os._exit(0)
