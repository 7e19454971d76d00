"""The Link view: the WebRTC link as a network engineer watches it.

One row per figure (RTT, jitter, loss, bitrate in/out, audio levels): a Textual `Sparkline` of
the last minutes with the current value and p50/p95 beside it; a state timeline strip across
the session (coloured by state, ✕ errors, ↻ reconnects); a turn-latency row (one bar per turn)
and the ICE path with its changes. It repaints only on the 1 Hz sample (or a state change) and
only while visible, never per audio frame.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from convai_tui.core.api.metrics import percentile
from convai_tui.core.api.states import SessionState
from convai_tui.core.link.stats import LinkHistory
from convai_tui.ui.formatting import clock_time, duration
from convai_tui.ui.model.link import LinkModel

ROWS: tuple[tuple[str, str, str], ...] = (
    ("rtt_ms", "RTT", "ms"),
    ("jitter_ms", "jitter", "ms"),
    ("loss_pct", "loss", "%"),
    ("bitrate_in_kbps", "in", "kb/s"),
    ("bitrate_out_kbps", "out", "kb/s"),
    ("audio_in_dbfs", "char lvl", "dB"),
    ("audio_out_dbfs", "mic lvl", "dB"),
)
"""(LinkStatsSampled field, label, unit) of each plotted figure."""

STATE_STYLES = {
    SessionState.CONNECTED: "on green",
    SessionState.RECONNECTING: "on yellow",
    SessionState.CONNECTING: "on blue",
    SessionState.DISCONNECTING: "on grey37",
    SessionState.DISCONNECTED: "on grey23",
    SessionState.ERROR: "on red",
}
STATE_SYMBOLS = {
    SessionState.CONNECTED: "━",
    SessionState.RECONNECTING: "~",
    SessionState.CONNECTING: "·",
    SessionState.DISCONNECTING: "╌",
    SessionState.DISCONNECTED: "_",
    SessionState.ERROR: "!",
}
"""Each state's cell without colour (NO_COLOR, a monochrome terminal, a colour-blind reader)."""
STATE_LEGEND = (
    ("up", SessionState.CONNECTED),
    ("reconn", SessionState.RECONNECTING),
    ("dial", SessionState.CONNECTING),
    ("err", SessionState.ERROR),
)
FIGURES_WIDTH = 28


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def figures_text(current: float | None, values: list[float], unit: str) -> str:
    """'  42 ms  p50 40  p95 88' — the current value, then the percentiles of the window."""
    return (
        f"{fmt(current):>5}{unit:<5}p50{fmt(percentile(values, 50)):>5} "
        f"p95{fmt(percentile(values, 95)):>5}"
    )


def timeline_text(model: LinkModel, width: int, now: float) -> Text:
    """One cell per slice of the session: its state's colour and symbol (STATE_SYMBOLS),
    ✕ an error, ↻ a reconnect."""
    text = Text()
    start = model.first_at
    if start is None or width <= 0:
        return text.append("no session yet", style="dim")
    step = max(now - start, 1.0) / width

    def cell_of(at: float) -> int:
        return min(width - 1, max(0, int((at - start) / step)))

    marks: dict[int, str] = {cell_of(at): "✕" for at, _ in model.errors}
    marks.update({cell_of(at): "↻" for at in model.reconnects})  # a reconnect outranks
    states = list(model.states)
    index, current = 0, None
    for cell in range(width):
        end = start + (cell + 1) * step
        worst = None
        while index < len(states) and states[index][0] < end:
            current = states[index][1]
            if current in (SessionState.ERROR, SessionState.RECONNECTING):
                worst = current
            index += 1
        shown = worst or current
        symbol = STATE_SYMBOLS.get(shown, " ") if shown else " "
        text.append(
            marks.get(cell, symbol),
            style=f"bold black {STATE_STYLES.get(shown, '')}" if shown else "",
        )
    return text


def candidate_text(history: LinkHistory) -> Text:
    latest = history.full[-1] if history.full else None
    text = Text("ICE ", style="bold")
    if latest is None or latest.candidate is None:
        return text.append("— (no sample yet)", style="dim")
    text.append(
        latest.candidate, style="bold red" if latest.candidate.startswith("relay") else "bold"
    )
    changes = list(history.candidates)[1:]
    if changes:
        text.append(f" · {len(changes)} change{'s' if len(changes) > 1 else ''}: ")
        text.append(", ".join(f"{c} at {clock_time(at)}" for at, c in changes[-2:]))
    if latest.concealment_events is not None:
        text.append(f" · concealed {latest.concealment_events} ev", style="dim")
    if latest.jitter_buffer_ms is not None:
        text.append(f" · jb {fmt(latest.jitter_buffer_ms)} ms", style="dim")
    return text


def warning_text(model: LinkModel) -> Text:
    latest = model.latest
    if latest is None:
        return Text("Waiting for the first sample (once a second while connected).", style="dim")
    history = model.history
    span = (f"  plots: last {duration(latest.at - history.full[0].at + 1)} at 1 Hz", "dim")
    if latest.warnings:
        return Text.assemble(
            ("⚠ transport.link_degraded: " + "; ".join(latest.warnings), "bold red"), span
        )
    return Text.assemble(("✓ link within thresholds", "green"), span)


class StateTimeline(Widget):
    """The timeline strip; drawn at its own width whenever it is laid out or shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = LinkModel()
        self.now = 0.0

    def render(self) -> Text:
        return timeline_text(self.model, self.size.width, self.now)


class FigureRow(Horizontal):
    """Label, sparkline, current value and p50/p95 of one figure."""

    def __init__(self, name: str, label: str, unit: str) -> None:
        super().__init__(id=f"link-row-{name.replace('_', '-')}", classes="link-row")
        self.figure, self.label, self.unit = name, label, unit

    def compose(self) -> ComposeResult:
        yield Static(self.label, classes="link-label")
        yield Sparkline([], classes="link-spark")
        yield Static(figures_text(None, [], self.unit), classes="link-figures")

    def show(self, values: list[float], current: float | None) -> None:
        # Sparkline scales from the data's minimum; a leading floor point (0, or -100 dBFS)
        # anchors the scale so 1 ms against 0 ms does not fill the row.
        floor = -100.0 if self.unit == "dB" else 0.0
        self.query_one(Sparkline).data = [floor, *values] if values else []
        # Fixed-size cells: repaint without a layout pass (the frame budget).
        self.query_one(".link-figures", Static).update(
            figures_text(current, values, self.unit), layout=False
        )


class LinkView(VerticalScroll):
    """The Link tab's content; `show(model, now)` repaints it from the model. The plots share
    the height the tab has (one to four rows each), so a tall terminal gets taller plots."""

    DEFAULT_CSS = """
    LinkView { height: 1fr; padding: 0 1; }
    LinkView .link-row { height: 1fr; min-height: 1; max-height: 4; }
    LinkView .link-label { width: 9; color: $text-muted; }
    LinkView .link-spark { width: 1fr; height: 1fr; margin-right: 1; }
    LinkView .link-figures { width: 28; }
    LinkView #link-warning { height: auto; }
    LinkView #link-timeline-row { height: 1; }
    LinkView #link-timeline { width: 1fr; height: 1; margin-right: 1; }
    LinkView #link-legend { width: 28; }
    LinkView #link-candidate { height: auto; }
    LinkView .link-row > Sparkline > .sparkline--max-color { color: $accent; }
    LinkView .link-row > Sparkline > .sparkline--min-color { color: $primary 50%; }
    LinkView #link-row-loss-pct > Sparkline > .sparkline--max-color { color: $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self.paints = 0

    def compose(self) -> ComposeResult:
        yield Static(warning_text(LinkModel()), id="link-warning")
        for name, label, unit in ROWS:
            yield FigureRow(name, label, unit)
        yield FigureRow("turn_ms", "turn", "ms")
        with Horizontal(id="link-timeline-row", classes="link-row"):
            yield Static("states", classes="link-label")
            yield StateTimeline(id="link-timeline")
            yield Static(_legend(), id="link-legend")
        yield Static(Text("ICE —", style="dim"), id="link-candidate")

    def show(self, model: LinkModel, now: float) -> None:
        self.paints += 1
        history = model.history
        latest = model.latest
        _update_if_changed(self.query_one("#link-warning", Static), warning_text(model))
        for row in self.query(FigureRow):
            if row.figure == "turn_ms":
                turns = model.turn_series()
                row.show(turns, turns[-1] if turns else None)
            else:
                current = getattr(latest, row.figure) if latest is not None else None
                row.show(history.series(row.figure), current)
        timeline = self.query_one(StateTimeline)
        timeline.model, timeline.now = model, max(now, model.last_at or now)
        timeline.refresh()
        _update_if_changed(self.query_one("#link-candidate", Static), candidate_text(history))


def _update_if_changed(widget: Static, text: Text) -> None:
    """These two wrap, so a change needs a layout pass; most seconds they do not change."""
    if widget.content != text:
        widget.update(text)


def _legend() -> Text:
    text = Text()
    for label, state in STATE_LEGEND:
        text.append(STATE_SYMBOLS[state], style=f"bold black {STATE_STYLES[state]}")
        text.append(f"{label} ")
    return text
