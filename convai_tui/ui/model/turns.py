"""What the Turns view shows, computed from the turn_timing events the Link model already folds
(`LinkModel.turns`): per turn its waterfall, total, slowest part and SLA verdict; over the
session p50/p95 per part. Pure functions: no clock, no widget."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from convai_tui.core.api.events import TurnTimed
from convai_tui.core.api.metrics import percentile


@dataclass(frozen=True, slots=True)
class PartStats:
    name: str
    owner: str
    count: int
    p50: float | None
    p95: float | None


def slowest_part(turn: TurnTimed) -> dict[str, Any] | None:
    """The part that took longest (None without a waterfall)."""
    return max(turn.segments, key=lambda s: s["ms"], default=None)


def verdict(turn: TurnTimed) -> str:
    """'over' / 'ok' against the SLA; a cut-short turn is named, not judged."""
    if turn.outcome != "completed":
        return turn.outcome
    if turn.over_sla is None:
        return "—"
    return "over" if turn.over_sla else "ok"


def part_stats(turns: Iterable[TurnTimed]) -> list[PartStats]:
    """p50/p95 of each part over the completed turns, in the order parts first appear."""
    values: dict[str, list[float]] = {}
    owners: dict[str, str] = {}
    totals: list[float] = []
    for turn in turns:
        if turn.outcome != "completed" or turn.total_ms is None:
            continue
        totals.append(turn.total_ms)
        for seg in turn.segments:
            values.setdefault(seg["name"], []).append(seg["ms"])
            owners.setdefault(seg["name"], seg["owner"])
    stats = [
        PartStats(name, owners[name], len(v), percentile(v, 50), percentile(v, 95))
        for name, v in values.items()
    ]
    if totals:
        stats.append(
            PartStats("total", "", len(totals), percentile(totals, 50), percentile(totals, 95))
        )
    return stats


def detail_lines(turn: TurnTimed) -> list[str]:
    """Everything about one turn, for the detail pane: figures, each part, the server trace."""
    lines = [
        f"turn {turn.turn} · input {turn.input} · {turn.outcome}"
        + (f" · server turn {turn.turn_id}" if turn.turn_id else ""),
        f"total {_ms(turn.total_ms)} (end: {turn.end or '—'}) · SLA {_ms(turn.sla_ms)} · "
        f"{verdict(turn)}",
        f"sent→first text {_ms(turn.sent_to_first_text_ms)} · sent→first audio "
        f"{_ms(turn.sent_to_first_audio_ms)} · user stop→speech {_ms(turn.user_stop_to_speech_ms)}",
    ]
    at = 0.0
    for seg in turn.segments:
        lines.append(
            f"  +{at:7.1f}  {seg['name']:<16}{seg['ms']:8.1f} ms  {seg['owner']:<8}{seg['source']}"
        )
        at += seg["ms"]
    if turn.server is None:
        lines.append("server trace: none (ask for it with --server-debug)")
    else:
        lines.append("server trace as sent:")
        lines += [f"  {key}: {value}" for key, value in turn.server.items()]
    return lines


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"
