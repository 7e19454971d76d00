"""eval_capacity: sessions per core — the most concurrent text-only sessions this machine holds
with every turn inside its SLA, measured with `convai-tui eval` against the stand-in.

One stand-in (`--tts tone`: the character speaks a cheap tone, so a typed turn's latency is
sent → the character's voice, as eval defines it) and the eval command as a child process, run
once per step with a two-turn typed scenario (`say`, expect `respond`, the default 1200 ms text
SLA) at concurrency 1, 2, 4, 8, … (sessions started `STAGGER_MS` apart), stopping at the first
step with any turn not `pass`, or at the cap. The figure is the largest all-pass concurrency,
and that divided by os.cpu_count(). The smoke (concurrency 1 and 2) holds the turns to a 12 s
SLA instead: it checks that the bench still measures, and a loaded `make test` must not fail it.

Both ends run on the same machine, so the stand-in's own CPU is stated beside it: over each
step, the CPU seconds of the stand-in process and its descendants (the livekit-server child)
from /proc, and of the eval process from its rusage when it is reaped; their sum is the load
the step put on the machine and `standin_share` the stand-in's part of it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import CLI, ROOT, StandIn, client_env, cpu_seconds

STAGGER_MS = 25
SLA_TEXT_MS = 1200  # eval's default text SLA
TURNS = ("hello", "where is the station")


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from the ppid field of /proc/*/stat."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, ()))
    return found


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for each in descendants(pid):
        try:
            total += cpu_seconds(each)
        except OSError:
            continue  # ended between the listing and the reading
    return total


def scenario(path: Path, character_id: str, sla_text_ms: int) -> Path:
    turns = "".join(f'[[turns]]\nsay = "{text}"\nexpect = "respond"\n\n' for text in TURNS)
    path.write_text(f'name = "capacity"\ncharacter_id = "{character_id}"\n'
                    f'sla_text_ms = {sla_text_ms}\n\n{turns}')
    return path


def step(details: dict[str, Any], standin_pid: int, concurrency: int, tmp: Path,
         env: dict[str, str], sla_text_ms: int) -> dict[str, Any]:
    """One eval run at `concurrency`: its classes, p50/p95 total, and the CPU of both ends."""
    out = tmp / f"eval-{concurrency}.json"
    standin0 = tree_cpu_seconds(standin_pid)
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(
        [*CLI, "eval", str(scenario(tmp / "capacity.toml", details["character_id"], sla_text_ms)),
         "--concurrency", str(concurrency), "--stagger-ms", str(STAGGER_MS), "--json", str(out),
         "--connect-url", details["connect_url"], "--api-key", details["api_key"]],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
        check=False)
    wall = time.monotonic() - t0
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    standin_s = tree_cpu_seconds(standin_pid) - standin0
    eval_s = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    result: dict[str, Any] = {"concurrency": concurrency, "exit": proc.returncode,
                              "wall_s": round(wall, 1),
                              "cpu_percent": {"standin": round(100 * standin_s / wall, 1),
                                              "eval": round(100 * eval_s / wall, 1)},
                              "standin_share": round(standin_s / (standin_s + eval_s), 2)
                              if standin_s + eval_s else None}
    try:
        summary = json.loads(out.read_text())["summary"]
    except (OSError, ValueError, KeyError):
        result["classes"] = {}
        result["all_pass"] = False
        return result
    totals = [part["total_ms"] for bucket in summary["buckets"].values()
              if (part := bucket["parts"]) and "total_ms" in part]
    result["classes"] = summary["classes"]
    result["turns"] = summary["turns"]
    result["total_ms"] = totals[0] if len(totals) == 1 else totals
    result["all_pass"] = (proc.returncode == 0 and set(summary["classes"]) == {"pass"}
                          and summary["turns"] == concurrency * len(TURNS))
    return result


def run(cap: int = 64, smoke: bool = False) -> dict[str, Any]:
    sla_text_ms = 12_000 if smoke else SLA_TEXT_MS
    levels = [1, 2] if smoke else [2 ** k for k in range(cap.bit_length()) if 2 ** k <= cap]
    tmp = Path(tempfile.mkdtemp(prefix="convai-eval-capacity-"))
    env = client_env({}, tmp)
    steps: list[dict[str, Any]] = []
    with StandIn("--tts", "tone") as standin:
        assert standin.process is not None
        for concurrency in levels:
            steps.append(step(standin.details, standin.process.pid, concurrency, tmp, env,
                              sla_text_ms))
            if not steps[-1]["all_pass"]:
                break
    held = max((s["concurrency"] for s in steps if s["all_pass"]), default=None)
    last = next((s for s in reversed(steps) if s["all_pass"]), None)
    cores = os.cpu_count() or 1
    return {"eval_capacity": {
        "max_all_pass_concurrency": held,
        "sessions_per_core": round(held / cores, 2) if held else None,
        "cores": cores, "cap": levels[-1], "stopped_by": "cap" if steps[-1]["all_pass"]
        else f"non-pass turns at concurrency {steps[-1]['concurrency']}",
        "standin_share_at_max": last["standin_share"] if last else None,
        "turns_per_session": len(TURNS), "stagger_ms": STAGGER_MS, "sla_text_ms": sla_text_ms,
        "stand_in": "local-server --tts tone", "steps": steps}}


if __name__ == "__main__":  # python -m bench.eval_capacity [--cap N]
    cap = int(sys.argv[sys.argv.index("--cap") + 1]) if "--cap" in sys.argv else 64
    print(json.dumps(run(cap), indent=1))
    os._exit(0)
