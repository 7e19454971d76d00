"""The run's summary: per input→output bucket the count and p50/p95/p99 of the total and of
each figure, the classes with counts, and the slowest turns with the ids Convai's support needs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from convai_tui.eval.results import CLASSES, SessionResult, TurnResult

PERCENTILES = (50, 95, 99)
SLOWEST = 5


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (a value that was measured); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _parts(turn: TurnResult) -> dict[str, float]:
    parts = {"total_ms": turn.total_ms} if turn.total_ms is not None else {}
    for name, value in turn.figures.items():
        if name != "total_ms" and isinstance(value, int | float) and not isinstance(value, bool):
            parts[name] = float(value)
    parts.update(segment_parts(turn.figures.get("segments")))
    return parts


def segment_parts(segments: Any) -> dict[str, float]:
    """turn_timing's breakdown when the event carries one: a list of {name, ms, …} adding up
    to its total (a {name: ms} mapping is read too)."""
    if isinstance(segments, dict):
        pairs = list(segments.items())
    elif isinstance(segments, list | tuple):
        pairs = [(s.get("name"), s.get("ms")) for s in segments if isinstance(s, dict)]
    else:
        return {}
    return {
        f"segments.{name}": float(ms)
        for name, ms in pairs
        if isinstance(name, str) and isinstance(ms, int | float) and not isinstance(ms, bool)
    }


def summarize(sessions: Sequence[SessionResult]) -> dict[str, Any]:
    turns = [turn for session in sessions for turn in session.turns]
    by_bucket: dict[str, list[TurnResult]] = {}
    for turn in turns:
        by_bucket.setdefault(turn.bucket, []).append(turn)
    buckets = {}
    for name in sorted(by_bucket):
        values: dict[str, list[float]] = {}
        for turn in by_bucket[name]:
            for part, value in _parts(turn).items():
                values.setdefault(part, []).append(value)
        buckets[name] = {
            "count": len(by_bucket[name]),
            "parts": {
                part: {f"p{p}": percentile(vals, p) for p in PERCENTILES}
                for part, vals in sorted(values.items())
            },
        }
    counts = Counter(turn.klass for turn in turns)
    ids = {s.index: s for s in sessions}
    timed = sorted((t for t in turns if t.total_ms is not None), key=lambda t: -(t.total_ms or 0))
    slowest = [
        {
            "session": t.session,
            "turn": t.turn,
            "total_ms": t.total_ms,
            "class": t.klass,
            "session_id": ids[t.session].session_id if t.session in ids else None,
            "character_session_id": (
                ids[t.session].character_session_id if t.session in ids else None
            ),
            "turn_id": t.turn_id,
        }
        for t in timed[:SLOWEST]
    ]
    return {
        "sessions": len(sessions),
        "turns": len(turns),
        "classes": {k: counts[k] for k in CLASSES if counts[k]},
        "buckets": buckets,
        "slowest": slowest,
    }


def format_summary(summary: dict[str, Any], *, title: str) -> str:
    lines = [f"{title}: {summary['sessions']} sessions, {summary['turns']} turns"]
    classes = summary["classes"]
    lines.append("classes: " + (", ".join(f"{k} {v}" for k, v in classes.items()) or "none"))
    for name, bucket in summary["buckets"].items():
        head = f"{name}  ({bucket['count']} turns)"
        if not bucket["parts"]:
            lines.append(f"{head}  no reply, no latency figures")
            continue
        lines.append(f"{head:<28}" + "".join(f"{f'p{p}':>9}" for p in PERCENTILES))
        for part, pcts in bucket["parts"].items():
            shown = "".join(_ms(pcts[f"p{p}"]) for p in PERCENTILES)
            lines.append(f"  {part:<26}{shown}")
    if summary["slowest"]:
        lines.append("slowest turns:")
        for s in summary["slowest"]:
            lines.append(
                f"  {s['total_ms']:>8.0f} ms  session {s['session']} turn {s['turn']} "
                f"({s['class']})  session_id={s['session_id']} "
                f"character_session_id={s['character_session_id']} turn_id={s['turn_id']}"
            )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return f"{'–':>9}" if value is None else f"{value:>9.0f}"
