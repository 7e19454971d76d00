"""The single-character voice round trip, two versions of the client interleaved in one run.

`BENCH_BEFORE_ROOT=/tmp/before python -m bench.voice_ab [ROUNDS] [CHIRPS]`, where /tmp/before
holds another version's `convai_tui` (e.g. `git archive <commit> convai_tui | tar -x -C
/tmp/before`); `BENCH_AFTER_ROOT` likewise (default: this checkout). One stand-in
(`--voice echo --tts none`) serves every session; each session is voice_bench's: its own private
PulseAudio, CHIRPS chirps (10 by default) played into the microphone, the round trip read off one
recording of the microphone and the speaker. Each round runs both versions, the order alternating
from round to round (3 rounds by default). Prints each session as it ends, then one JSON line:
per version its sessions' p50s, the median of those, all its chirps' p50/p95, its underruns and
the load average seen. The machine is shared: compare the versions only within one run.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.common import ROOT, StandIn, percentiles
from bench.voice_bench import measure


def compare(before: Path, after: Path, rounds: int, chirps: int) -> dict[str, Any]:
    versions = {"before": before, "after": after}
    sessions: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
    loads: list[float] = []
    with StandIn("--voice", "echo", "--tts", "none") as standin:
        for round_no in range(rounds):
            order = list(versions) if round_no % 2 == 0 else list(reversed(versions))
            for name in order:
                loads.append(os.getloadavg()[0])
                result = measure(standin.details, chirps, client_root=versions[name])
                sessions[name].append(result)
                audio = result.get("client_audio") or {}
                print(f"round {round_no + 1} {name}: p50 {result.get('p50')} p95 "
                      f"{result.get('p95')} heard {result.get('heard')}/{chirps} underruns "
                      f"{audio.get('underruns')}", file=sys.stderr, flush=True)
    out: dict[str, Any] = {"rounds": rounds, "chirps": chirps,
                           "load": {"min": min(loads), "max": max(loads)}}
    for name, results in sessions.items():
        p50s = [r["p50"] for r in results if r.get("p50") is not None]
        trips = [t for r in results for t in r.get("all", [])]
        out[name] = {
            "root": str(versions[name]),
            "session_p50s": p50s,
            "median_of_p50s": statistics.median(p50s) if p50s else None,
            "all_chirps": percentiles(trips),
            "heard": sum(len(r.get("all", [])) for r in results),
            "underruns": sum(int((r.get("client_audio") or {}).get("underruns") or 0)
                             for r in results),
        }
    return out


if __name__ == "__main__":
    before_root = os.environ.get("BENCH_BEFORE_ROOT")
    if not before_root:
        sys.exit("set BENCH_BEFORE_ROOT to a directory holding the other convai_tui")
    args = [int(a) for a in sys.argv[1:3]]
    rounds, chirps = (args + [3, 10][len(args):])[:2]
    print(json.dumps(compare(Path(before_root), Path(os.environ.get("BENCH_AFTER_ROOT", ROOT)),
                             rounds, chirps)))
    os._exit(0)
