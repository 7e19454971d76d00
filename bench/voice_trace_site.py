"""The trace bench/voice_trace.py installs as ``sitecustomize.py`` of a client or stand-in it
starts (never imported by the bench itself): per chirp, the monotonic times of its first loud
frame at each stage, one JSON line per chirp in ``$VOICE_TRACE_DIR/<label>-<pid>.jsonl``.

In the client: the microphone callback (``AudioPipeline._on_mic_frame``), its arrival in a
playback jitter buffer (``push``, with the buffer's depth, target and counters then) and the
pull that hands it to the device (``pull_into``). In the stand-in: its echo receiving it
(``EchoGate.passes``). It patches private names that the client has had since before the room
mix (07b678b^), so two versions can be compared; nothing here may break the process traced.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

LOUD = 3000
"""A chirp's frames peak near 16,000; silence and the APM's comfort noise stay far under this."""
GAP_S = 0.7
"""Loud frames this far apart are two chirps (they are 1.5 s apart)."""
ROOM_BUFFER_MIN_SAMPLES = 48 * 200 + 1
"""Playback buffers hold 250 ms; the mix's 200 ms echo reference is not one."""


def _out(label: str) -> str:
    return os.path.join(os.environ["VOICE_TRACE_DIR"], f"{label}-{os.getpid()}.jsonl")


def _loud(pcm: Any) -> Any:
    import numpy as np

    a = np.asarray(pcm)
    return np.flatnonzero(np.abs(a.astype(np.int32)) > LOUD) if a.size else a[:0]


def trace_client(label: str) -> None:
    from convai_tui.audio import jitter, pipeline

    out = _out(label)
    state: dict[str, Any] = {"mic_at": None, "mic_last": 0.0, "push_last": 0.0, "chirp": None}
    on_mic_frame = pipeline.AudioPipeline._on_mic_frame

    def traced_mic(self: Any, pcm: Any, captured_at: float, input_latency_s: float) -> None:
        now = time.monotonic()
        if len(_loud(pcm)):
            if now - state["mic_last"] > GAP_S:
                state["mic_at"] = now
            state["mic_last"] = now
        on_mic_frame(self, pcm, captured_at, input_latency_s)

    push = jitter.JitterBuffer.push

    def traced_push(self: Any, pcm: Any) -> None:
        now = time.monotonic()
        loud = _loud(pcm)
        if len(loud) and self.capacity >= ROOM_BUFFER_MIN_SAMPLES:
            if now - state["push_last"] > GAP_S:
                state["chirp"] = {
                    "buffer": id(self),
                    "at_sample": self._pushed + int(loud[0]),
                    "mic_at": state["mic_at"],
                    "arrived_at": now,
                    "depth_ms": 1000 * self._count / self.sample_rate,
                    "target_ms": 1000 * self.target_samples / self.sample_rate,
                    "trimmed": getattr(self, "_trimmed", 0),
                    "underruns": self._underruns,
                    "dropped": self._dropped,
                }
            state["push_last"] = now
        push(self, pcm)

    pull_into = jitter.JitterBuffer.pull_into

    def traced_pull(self: Any, block: Any) -> int:
        chirp = state["chirp"]
        head = self._pushed - self._count
        taken: int = pull_into(self, block)
        if chirp is None or chirp["buffer"] != id(self):
            return taken
        if self._pushed - self._count > chirp["at_sample"]:
            state["chirp"] = None
            played_at = time.monotonic() + max(0, chirp["at_sample"] - head) / self.sample_rate
            row = {k: v for k, v in chirp.items() if k not in ("buffer", "at_sample")}
            row["played_at"] = played_at
            with open(out, "a") as f:
                f.write(json.dumps(row) + "\n")
        return taken

    pipeline.AudioPipeline._on_mic_frame = traced_mic  # type: ignore[method-assign]
    jitter.JitterBuffer.push = traced_push  # type: ignore[method-assign]
    jitter.JitterBuffer.pull_into = traced_pull  # type: ignore[method-assign]


def trace_standin() -> None:
    from convai_tui.local.character import voice

    out = _out("standin")
    state = {"last": 0.0}
    passes = voice.EchoGate.passes

    def traced_passes(self: Any, pcm: Any) -> bool:
        if len(_loud(pcm)):
            now = time.monotonic()
            if now - state["last"] > GAP_S:
                with open(out, "a") as f:
                    f.write(json.dumps({"received_at": now}) + "\n")
            state["last"] = now
        return passes(self, pcm)

    voice.EchoGate.passes = traced_passes  # type: ignore[method-assign]


if "VOICE_TRACE_DIR" in os.environ:
    try:
        if "local-server" in sys.argv:
            trace_standin()
        elif "run" in sys.argv:
            trace_client(os.path.basename(os.getcwd()))  # the client runs in its root
    except Exception as exc:
        print(f"voice trace not installed: {exc}", file=sys.stderr)
