"""Voice turns' turn_timing total_ms against an external measurement of the same turns.

The private PulseAudio mic and speaker are recorded on one clock (voice_bench.py's mix method:
`mic.monitor` → left, `spk.monitor` → right of one stereo sink, one `parec`). An 0.8 s tone
burst is played into the mic every TURN_GAP_S; the stand-in answers each with a tone after known
stage delays. Per turn, the external figure is the first audible sample of the reply on the
speaker minus the last audible sample of the burst on the mic, "audible" being the client's own
onset threshold (-40 dBFS) on both sides. `parec`'s chunks are stamped with the wall clock as
they arrive, so each burst is paired with the `turn_timing` line published after it (by `ts`),
not by order: a turn the client missed shows as missing instead of shifting the others.

Run from the repository root: python -m bench.turn_timing_external [TURNS]
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
import wave
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CLI, ROOT, client_env, stop_process
from tests.audio.pulse import PulseServer, start_pulse

RATE = 48_000
TURN_GAP_S = 6.0
BURST_S = 0.8
AUDIBLE = 328 / 32768  # convai_tui.audio.dsp.onset.AUDIBLE_PEAK
QUIET_AFTER_S = 0.5


def write_bursts(path: Path, turns: int) -> None:
    """Half a second of silence, then `turns` 0.8 s 300 Hz bursts, one every TURN_GAP_S."""
    t = np.arange(int(RATE * BURST_S)) / RATE
    ramp = np.minimum(1, t / 0.002) * np.minimum(1, (BURST_S - t) / 0.002)
    tone = 0.5 * np.sin(2 * np.pi * 300 * t) * ramp
    gap = np.zeros(int(RATE * TURN_GAP_S) - tone.size)
    total = np.concatenate([np.zeros(RATE // 2), *([tone, gap] * turns)])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((total * 32767).astype(np.int16).tobytes())


def add_mix(pulse: PulseServer) -> None:
    """A stereo sink `mix`: the mic's monitor on the left, the speaker's on the right."""
    pulse.pactl(
        "load-module",
        "module-null-sink",
        "sink_name=mix",
        f"rate={RATE}",
        "channels=2",
        "channel_map=front-left,front-right",
    )
    for source, side in (("mic.monitor", "front-left"), ("spk.monitor", "front-right")):
        pulse.pactl(
            "load-module",
            "module-loopback",
            f"source={source}",
            "sink=mix",
            "latency_msec=10",
            "channels=1",
            f"channel_map={side}",
            "source_dont_move=true",
            "sink_dont_move=true",
        )


class StampedRecording:
    """`parec` of the mix; each chunk is stamped with time.time() on arrival, so the wall time
    of a sample is known to within the reader's wake-up delay (the lower envelope is used)."""

    def __init__(self, pulse: PulseServer) -> None:
        self.proc = subprocess.Popen(
            [
                "parec",
                "--device=mix.monitor",
                "--raw",
                "--format=s16le",
                f"--rate={RATE}",
                "--channels=2",
                "--latency-msec=10",
            ],
            env=pulse.client_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._chunks: list[bytes] = []
        self._stamps: list[tuple[float, int]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd, total = self.proc.stdout.fileno(), 0
        while chunk := os.read(fd, 65536):
            total += len(chunk)
            self._stamps.append((time.time(), total // 4))
            self._chunks.append(chunk)

    def stop(self) -> tuple[np.ndarray, float]:
        """The stereo samples (float, -1..1) and the wall time of the first one."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)
        self._reader.join(10)
        data = np.frombuffer(b"".join(self._chunks), dtype=np.int16).reshape(-1, 2) / 32768.0
        start = min(at - samples / RATE for at, samples in self._stamps)
        return data, start


def external_turns(data: np.ndarray, start: float) -> list[tuple[float, float | None]]:
    """(wall time of the burst's end, ms to the reply's first audible sample or None)."""
    mic, spk = np.abs(data[:, 0]) >= AUDIBLE, np.abs(data[:, 1]) >= AUDIBLE
    quiet = int(RATE * QUIET_AFTER_S)
    edges = np.flatnonzero(mic[:-1] & ~mic[1:])
    ends = [int(e) for e in edges if not mic[e + 1 : e + quiet].any()]
    turns: list[tuple[float, float | None]] = []
    for end in ends:
        heard = np.flatnonzero(spk[end : end + int(RATE * (TURN_GAP_S - BURST_S))])
        turns.append((start + end / RATE, float(heard[0]) * 1000 / RATE if heard.size else None))
    return turns


def pair(
    bursts: list[tuple[float, float | None]], timings: list[dict[str, Any]]
) -> list[tuple[float | None, dict[str, Any] | None]]:
    """Each burst with the first voice turn_timing published after it and before the next."""
    out: list[tuple[float | None, dict[str, Any] | None]] = []
    for i, (ended_at, external) in enumerate(bursts):
        until = bursts[i + 1][0] if i + 1 < len(bursts) else float("inf")
        match = next((t for t in timings if ended_at < t["ts"] < until), None)
        out.append((external, match))
    return out


def run(turns: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp())
    pulse = start_pulse()
    server = client = None
    try:
        add_mix(pulse)
        env = client_env(pulse.env, tmp)
        server = subprocess.Popen(
            [
                *CLI,
                *("local-server", "--port", "0", "--voice", "reply", "--tts", "tone"),
                *("--stage-delays", "llm=400,tts=250"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert server.stdout is not None
        d = json.loads(server.stdout.readline())
        client = subprocess.Popen(
            [
                *CLI,
                *("run", "--headless", "--json", "--audio"),
                *("--duration", str(int(20 + turns * TURN_GAP_S))),
                *("--connect-url", d["connect_url"], "--api-key", d["api_key"]),
                *("--character-id", d["character_id"]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert client.stdout is not None
        lines: list[dict[str, Any]] = []
        for line in client.stdout:
            lines.append(json.loads(line))
            if lines[-1]["type"] == "bot_ready":
                break
        reader = threading.Thread(
            target=lambda: lines.extend(json.loads(line) for line in client.stdout or ()),
            daemon=True,
        )
        reader.start()
        time.sleep(2.0)
        wav = tmp / "bursts.wav"
        write_bursts(wav, turns)
        recording = StampedRecording(pulse)
        time.sleep(0.3)
        subprocess.run(
            ["paplay", "--device=mic", str(wav)],
            env=pulse.client_env(),
            check=True,
            timeout=30 + turns * TURN_GAP_S,
        )
        time.sleep(1.0)
        data, start = recording.stop()
        deadline = time.monotonic() + 15
        voice = [x for x in lines if x["type"] == "turn_timing" and x.get("input") == "voice"]
        while len(voice) < turns and time.monotonic() < deadline:
            time.sleep(0.2)
            voice = [x for x in lines if x["type"] == "turn_timing" and x.get("input") == "voice"]
    finally:
        if client:
            stop_process(client, signal.SIGINT, 15)
        if server:
            server.terminate()
            server.wait(20)
        pulse.stop()
    rows = []
    for external, timing in pair(external_turns(data, start), voice):
        rows.append(
            {
                "external_ms": None if external is None else round(external, 1),
                "total_ms": timing and timing["total_ms"],
                "end": timing and timing["end"],
                "difference_ms": None
                if external is None or timing is None or timing["total_ms"] is None
                else round(timing["total_ms"] - external, 1),
                "segments": timing and [(s["name"], s["ms"]) for s in timing["segments"]],
            }
        )
    paired = [r for r in rows if r["difference_ms"] is not None]

    def median(key: str) -> float | None:
        return round(statistics.median(r[key] for r in paired), 1) if paired else None

    diffs = [r["difference_ms"] for r in paired]
    return {
        "turns": rows,
        "paired": len(paired),
        "median_total_ms": median("total_ms"),
        "median_external_ms": median("external_ms"),
        "median_difference_ms": median("difference_ms"),
        "range_ms": [min(diffs), max(diffs)] if diffs else None,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def bench(turns: int) -> dict[str, Any]:
    """bench/run's part: `turn_timing_vs_external` (the per-turn table left out)."""
    result = run(turns)
    return {"turn_timing_vs_external": {k: v for k, v in result.items() if k != "turns"}}


def main() -> None:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    load = [round(x, 2) for x in os.getloadavg()]
    result = run(turns)
    for i, row in enumerate(result["turns"], 1):
        print(
            f"turn {i}: total_ms {row['total_ms']}, external {row['external_ms']}, "
            f"difference {row['difference_ms']} ms ({row['end']})",
            row["segments"],
        )
    print(f"load average at start {load}, at end {result['loadavg']}")
    if result["range_ms"]:
        low, high = result["range_ms"]
        print(
            f"difference total_ms - external: median {result['median_difference_ms']:+.1f} ms, "
            f"range {low:+.1f} .. {high:+.1f} ms over {len(result['turns'])} bursts"
        )


if __name__ == "__main__":
    main()
