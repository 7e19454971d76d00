"""`convai-tui report LOG`: a static summary of a recorded session to attach to a support
ticket — a text report (states, link figures with p50/p95/max, degraded spells, turn timings
with p50/p95 per part of the waterfall and the slowest turns part by part, errors) and an SVG
of the Link view and the slowest turns' waterfalls drawn from the same log.

    convai-tui report ~/.local/state/convai-tui/sessions/20261125-014100-4242.jsonl
    → prints the text, writes <log>-report.txt and <log>-report.svg beside it (or in --out)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convai_tui.core.api.events import (
    ErrorRaised,
    LinkStatsSampled,
    SessionStateChanged,
    TurnTimed,
)
from convai_tui.core.api.metrics import percentile
from convai_tui.core.api.states import SessionState
from convai_tui.core.link.stats import PLOTTED, LinkHistory
from convai_tui.sessionlog.replay import ReplayLog, load_log
from convai_tui.ui.model.link import LinkModel
from convai_tui.ui.model.turns import part_stats, verdict

SLOWEST_SHOWN = 5
LINK_HEIGHT = 13
SVG_SIZE = (100, LINK_HEIGHT + 5 + 2 * SLOWEST_SHOWN)
"""The Link view, then the waterfalls of the slowest turns."""
LABELS = {
    "rtt_ms": "RTT ms",
    "jitter_ms": "jitter ms",
    "loss_pct": "loss %",
    "bitrate_in_kbps": "in kb/s",
    "bitrate_out_kbps": "out kb/s",
    "audio_in_dbfs": "char dBFS",
    "audio_out_dbfs": "mic dBFS",
}


def add_report_parser(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="summarise a recorded session log (text + SVG) for a support ticket"
    )
    report.add_argument("file", type=Path, help="a session log (XDG state dir sessions/*.jsonl)")
    report.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where to write <log>-report.txt and .svg (default: beside the log)",
    )


def cmd_report(args: argparse.Namespace) -> int:
    try:
        log = load_log(args.file)
    except (OSError, UnicodeDecodeError) as exc:
        print(
            f"convai-tui: cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}",
            file=sys.stderr,
        )
        return 2
    out_dir = args.out or args.file.parent
    stem = args.file.stem
    text_path, svg_path = out_dir / f"{stem}-report.txt", out_dir / f"{stem}-report.svg"
    report = build_report(log)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        text_path.write_text(report.text + "\n", encoding="utf-8")
        svg_path.write_text(asyncio.run(render_svg(report)), encoding="utf-8")
    except OSError as exc:
        print(
            f"convai-tui: cannot write the report in {out_dir}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    print(report.text)
    print(f"\nwritten: {text_path}\n         {svg_path}")
    return 0


@dataclass
class Report:
    log: ReplayLog
    link: LinkModel
    text: str
    end_at: float


def build_report(log: ReplayLog) -> Report:
    # The whole session at full rate: a report is read once, its memory is the log's.
    link = LinkModel(history=LinkHistory(full_minutes=24 * 60))
    for event in log.events:
        link.apply(event)
    end_at = log.events[-1].at if log.events else time.time()
    return Report(log, link, "\n".join(_lines(log, link, end_at)), end_at)


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at))


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def _lines(log: ReplayLog, link: LinkModel, end_at: float) -> list[str]:
    events = log.events
    out = [f"convai-tui report · {log.path.name} · {log.summary()}"]
    if not events:
        return [*out, "The log holds no events."]
    start = events[0].at
    errors = Counter(e.error.code for e in events if isinstance(e, ErrorRaised))
    out.append(
        f"Session   {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(start))} → "
        f"{_clock(end_at)} UTC ({end_at - start:.0f} s); {len(link.reconnects)} "
        f"reconnect(s), {sum(errors.values())} error(s)"
    )
    changes = [e for e in events if isinstance(e, SessionStateChanged)]
    out += _wrapped(
        "States    ",
        [f"{e.new.value} {_clock(e.at)}{f' ({e.reason})' if e.reason else ''}" for e in changes],
    )
    out += _link_lines(link.history)
    out += _degraded_lines(
        [e for e in events if isinstance(e, LinkStatsSampled)], _outages(changes, end_at)
    )
    out += _turn_lines(link)
    if errors:
        out.append("Errors    " + ", ".join(f"{code} ×{n}" for code, n in errors.most_common()))
    return out


def _link_lines(history: LinkHistory) -> list[str]:
    if not history.full:
        return ["Link      no link_stats samples in this log"]
    latest = history.full[-1]
    changes = list(history.candidates)
    out = [
        f"Link      {history.samples_seen} samples (1 Hz); ICE {latest.candidate or '—'}"
        + (
            "; path changes: " + ", ".join(f"{c} at {_clock(at)}" for at, c in changes[1:])
            if len(changes) > 1
            else ""
        ),
        f"          {'':<10}{'last':>8}{'p50':>8}{'p95':>8}{'max':>8}",
    ]
    for name in PLOTTED:
        values = history.series(name)
        out.append(
            f"          {LABELS[name]:<10}{_num(getattr(latest, name)):>8}"
            f"{_num(percentile(values, 50)):>8}{_num(percentile(values, 95)):>8}"
            f"{_num(max(values) if values else None):>8}"
        )
    lost, received = latest.packets_lost, latest.packets_received
    if lost is not None and received is not None:
        out.append(
            f"          inbound audio: {lost} packets lost of {lost + received}; "
            f"{latest.concealment_events or 0} concealment events"
        )
    return out


REPORT_WIDTH = 100
SAMPLE_GAP_S = 3.0
"""Link samples come every second; a longer silence while connected is a stalled reading."""


def _wrapped(label: str, items: list[str]) -> list[str]:
    """``items`` joined by `` · `` over as many lines as they need, every one of them kept."""
    lines = [label]
    for item in items:
        if lines[-1].strip() and len(lines[-1]) + 3 + len(item) > REPORT_WIDTH:
            lines.append(" " * len(label))
        lines[-1] += (" · " if lines[-1].strip() else "") + item
    return lines


Spell = tuple[float, float, float, tuple[str, ...]]
"""begin, end, its length in seconds, and why."""


def _outages(changes: list[SessionStateChanged], end_at: float) -> list[Spell]:
    """Each spell in Reconnecting (a stalled or lost link), with the reason it gave."""
    spells: list[Spell] = []
    began: SessionStateChanged | None = None
    for change in [*changes, None]:
        ended = change is None or change.new is not SessionState.RECONNECTING
        if change is not None and not ended and began is None:
            began = change
        elif ended and began is not None:
            until = end_at if change is None else change.at
            why = f"reconnecting ({began.reason or 'link lost'})"
            spells.append((began.at, until, until - began.at, (why,)))
            began = None
    return spells


def _sample_gaps(samples: list[LinkStatsSampled], outages: list[Spell]) -> list[Spell]:
    """Silences in the 1 Hz link readings outside a reconnect: the link stalled unreported."""
    gaps: list[Spell] = []
    for before, after in itertools.pairwise(samples):
        if after.at - before.at <= SAMPLE_GAP_S:
            continue
        if any(a <= before.at + 1 and after.at - 1 <= b for a, b, _, _ in outages):
            continue
        gaps.append((before.at, after.at, after.at - before.at, ("no link readings (stalled)",)))
    return gaps


def _warning_runs(samples: list[LinkStatsSampled]) -> list[Spell]:
    """Consecutive samples over a transport.link_degraded threshold, with the fullest reasons."""
    runs: list[tuple[float, float, tuple[str, ...]]] = []
    for sample in samples:
        if not sample.warnings:
            continue
        if runs and sample.at - runs[-1][1] <= 1.5:
            begin, _, reasons = runs[-1]
            runs[-1] = (
                begin,
                sample.at,
                reasons if len(reasons) >= len(sample.warnings) else sample.warnings,
            )
        else:
            runs.append((sample.at, sample.at, sample.warnings))
    return [(a, b, b - a + 1, r) for a, b, r in runs]  # each sample stands for one second


def _degraded_lines(samples: list[LinkStatsSampled], outages: list[Spell]) -> list[str]:
    spells = sorted([*_warning_runs(samples), *outages, *_sample_gaps(samples, outages)])
    if not spells:
        return ["Degraded  never (no reconnect, no stalled reading, thresholds not crossed)"]
    return [
        f"{'Degraded' if i == 0 else '':<10}{_clock(a)}–{_clock(b)} ({n:.0f} s): {'; '.join(r)}"
        for i, (a, b, n, r) in enumerate(spells)
    ]


def _turn_lines(link: LinkModel) -> list[str]:
    turns = list(link.turns)
    if not turns:
        return ["Turns     no turn_timing events"]
    out = [f"Turns     {len(turns)} timed"]
    for field, label in (
        ("sent_to_first_text_ms", "sent → first text"),
        ("sent_to_first_audio_ms", "sent → first audio"),
        ("user_stop_to_speech_ms", "stopped speaking → speech"),
    ):
        values = [v for t in turns if (v := getattr(t, field)) is not None]
        if values:
            out.append(
                f"          {label:<26} p50 {_num(percentile(values, 50)):>5} ms  "
                f"p95 {_num(percentile(values, 95)):>5} ms  (n={len(values)})"
            )
    stats = part_stats(turns)
    if stats:
        out.append("          parts (completed turns)     p50      p95")
        out += [
            f"          {st.name:<16}{st.owner:<10}{_num(st.p50):>6} ms{_num(st.p95):>6} ms"
            for st in stats
        ]
    for turn in slowest_turns(turns):
        parts = " → ".join(f"{seg['name']} {_num(seg['ms'])}" for seg in turn.segments)
        out.append(
            f"  slow #{turn.turn:<3}{_num(turn.total_ms):>6} ms {turn.input} "
            f"({verdict(turn)}): {parts}"
        )
    return out


def slowest_turns(turns: list[TurnTimed], count: int = SLOWEST_SHOWN) -> list[TurnTimed]:
    """The completed turns with the largest totals, slowest first."""
    timed = [t for t in turns if t.total_ms is not None and t.outcome == "completed"]
    return sorted(timed, key=lambda t: t.total_ms or 0.0, reverse=True)[:count]


async def render_svg(report: Report) -> str:
    """The Link view drawn from the log in a headless Textual app, exported as SVG."""
    from textual.app import App, ComposeResult

    from convai_tui.ui.widgets.link import LinkView
    from convai_tui.ui.widgets.turns import TurnsView

    class LinkPicture(App[None]):
        CSS = f"#link-view {{ height: {LINK_HEIGHT}; }}"

        def compose(self) -> ComposeResult:
            yield LinkView(id="link-view")
            yield TurnsView(id="turns-view")

    app = LinkPicture()
    async with app.run_test(size=SVG_SIZE) as pilot:
        app.query_one(LinkView).show(report.link, report.end_at)
        turns = list(report.link.turns)
        app.query_one(TurnsView).show(slowest_turns(turns), stats_over=turns)
        await pilot.pause()
        return app.export_screenshot(title=f"convai-tui report · {report.log.path.name}")
