"""One turn's marks on the client clock and the waterfall they make: consecutive segments, each
named, owned (client, network, server or setting) and sourced (measured, server, estimated), that
add up to the turn's total because each starts where the previous one ended.

A `turn-trace` stage replaces the arrival delta it corresponds to (source "server"); what the
arrivals measured beyond the server's own figures is network time, shown as one estimated part.
A mark that is missing merges its span into the next segment; nothing is made up for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SERVER_MARKS = ("input_done", "transcript", "llm_started", "first_text", "tts_started")
"""Server message arrivals, in the order a turn produces them."""

DEFAULT_VAD_STOP_S = 0.2
"""The service's documented vad_params.stop_secs when the connect request sets none."""

_PART = {
    "transcript": ("asr", "server"),
    "llm_started": ("llm_wait", "server"),
    "first_text": ("llm", "server"),
    "tts_started": ("text_to_tts", "server"),
    "speaking": ("tts", "server"),
    "audio_received": ("audio_transport", "network"),
    "played": ("playout", "client"),
}
_AUDIO_PARTS = frozenset({"audio_transport", "playout"})
_TRACE_STAGE = {"input": "asr", "asr": "asr", "llm": "llm", "tts": "tts"}
"""Our segment → the turn-trace stage that is its server-side share."""


def vad_stop_s(vad_params: dict[str, Any] | None) -> float | None:
    """The VAD's stop wait the connect request sets (vad_params.stop_secs), if any."""
    value = (vad_params or {}).get("stop_secs")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class TurnMarks:
    input: str
    start: float
    marks: dict[str, float] = field(default_factory=dict)
    speaking: float | None = None
    audio_received: float | None = None
    played: float | None = None
    user_stopped: float | None = None
    start_source: str = "client"
    """voice turns: "mic" (the client's VAD) or "server" (user-stopped-speaking arrival)."""
    outcome: str = "completed"
    server: dict[str, Any] | None = None
    server_turn_id: str | None = None

    def mark(self, name: str, at: float) -> None:
        self.marks.setdefault(name, at)


@dataclass(frozen=True)
class Parts:
    total_ms: float | None
    end: str | None
    segments: tuple[dict[str, Any], ...]


def _seg(name: str, ms: float, owner: str, source: str) -> dict[str, Any]:
    return {"name": name, "ms": round(ms, 1), "owner": owner, "source": source}


def segments_of(turn: TurnMarks, vad_stop_s: float | None) -> Parts:
    ends = (
        ("played", "played", turn.played),
        ("received", "audio_received", turn.audio_received),
        ("received", "speaking", turn.speaking),
    )
    end_name, end_mark, end_at = next(
        ((n, m, t) for n, m, t in ends if t is not None), (None, "", None)
    )
    if end_at is None or end_at < turn.start:
        return Parts(None, None, ())
    timeline = [(name, turn.marks.get(name)) for name in SERVER_MARKS]
    timeline += [
        ("speaking", turn.speaking),
        ("audio_received", turn.audio_received),
        ("played", turn.played),
    ]
    segments: list[dict[str, Any]] = []
    cut = turn.start
    for name, at in timeline:
        if at is None or at < cut or at > end_at:
            continue
        ms = (at - cut) * 1000
        if name == "input_done":
            segments += _input_parts(turn, ms, vad_stop_s)
        else:
            part, owner = _PART[name]
            segments.append(_seg(part, ms, owner, "measured"))
        cut = at
    if cut < end_at:  # the sound came before the messages that announce it
        part, owner = _PART[end_mark]
        segments.append(_seg(part, (end_at - cut) * 1000, owner, "measured"))
    total = round((end_at - turn.start) * 1000, 1)
    if turn.server is not None:
        segments = _with_server_stages(segments, turn.server)
    return Parts(total, end_name, tuple(segments))


def _input_parts(turn: TurnMarks, ms: float, vad_stop_s: float | None) -> list[dict[str, Any]]:
    if turn.input != "voice":
        return [_seg("input", ms, "network", "measured")]
    if turn.start_source != "mic":
        return [_seg("end_of_turn", ms, "server", "measured")]
    wait = min(ms, 1000 * (DEFAULT_VAD_STOP_S if vad_stop_s is None else vad_stop_s))
    return [
        _seg("vad_stop_wait", wait, "setting", "estimated"),
        _seg("end_of_turn", ms - wait, "server", "measured"),
    ]


def _with_server_stages(
    segments: list[dict[str, Any]], trace: dict[str, Any]
) -> list[dict[str, Any]]:
    stages = trace.get("segments_ms")
    if not isinstance(stages, dict):
        return segments
    out: list[dict[str, Any]] = []
    network = 0.0
    replaced = False
    for seg in segments:
        stage = _TRACE_STAGE.get(seg["name"], "")
        value = stages.get(stage)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            network += seg["ms"] - value
            seg = _seg(stage, float(value), "server", "server")
            replaced = True
        out.append(seg)
    if replaced:
        # Placed before the audio's own parts: the arrivals it comes from are server messages.
        at = next((i for i, s in enumerate(out) if s["name"] in _AUDIO_PARTS), len(out))
        out.insert(at, _seg("network", network, "network", "estimated"))
    return out
