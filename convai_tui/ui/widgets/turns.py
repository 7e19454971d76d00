"""The Turns view: one row per turn with its waterfall as a stacked bar (one colour per owner:
server, network, client, setting; estimated parts dim), the total, the slowest part and the SLA
verdict; p50/p95 per part over the session above; Enter on a row shows the turn's detail."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from convai_tui.core.api.events import TurnTimed
from convai_tui.ui.model.turns import detail_lines, part_stats, slowest_part, verdict

OWNER_STYLES = {"server": "magenta", "network": "cyan", "client": "green", "setting": "yellow"}
COLUMNS = ("#", "in", "waterfall", "total", "slowest", "SLA")
BAR_WIDTH = 24
SLA_MARK = "┃"


def bar_text(turn: TurnTimed, scale_ms: float, width: int = BAR_WIDTH) -> Text:
    """The turn's parts as coloured blocks on a common scale, the SLA as a mark."""
    text = Text()
    if not turn.segments or scale_ms <= 0:
        return text.append("no waterfall", style="dim")
    at = 0.0
    cells = 0
    for seg in turn.segments:
        at += max(seg["ms"], 0.0)
        end = min(width, round(at / scale_ms * width))
        if end > cells:
            style = OWNER_STYLES.get(seg["owner"], "white")
            text.append(
                "█" * (end - cells), style=style + (" dim" if seg["source"] == "estimated" else "")
            )
            cells = end
    text.append(" " * (width - cells))
    sla_cell = round((turn.sla_ms or 0) / scale_ms * width)
    if turn.sla_ms and sla_cell < width:
        text = text[:sla_cell] + Text(SLA_MARK, style="bold red") + text[sla_cell + 1 :]
    return text


def stats_text(turns: Sequence[TurnTimed]) -> Text:
    text = Text("p50/p95 ms  ", style="bold")
    stats = part_stats(turns)
    if not stats:
        return text.append("no timed turn yet", style="dim")
    for stat in stats:
        style = OWNER_STYLES.get(stat.owner, "bold")
        text.append(stat.name, style=style)
        text.append(f" {_n(stat.p50)}/{_n(stat.p95)}  ")
    return text


def legend_text() -> Text:
    text = Text("", style="dim")
    for owner, style in OWNER_STYLES.items():
        text.append("█", style=style).append(f" {owner} ")
    return text.append(f"{SLA_MARK} SLA · dim: estimated · Enter: detail", style="dim")


def _n(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


class TurnsTable(DataTable[Text]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)


class TurnsView(Vertical):
    """Repainted when the number of turns changes (and when its tab is shown)."""

    DEFAULT_CSS = """
    TurnsView { height: 1fr; }
    TurnsView #turns-table { height: 1fr; min-height: 6; }
    TurnsView #turns-stats, TurnsView #turns-legend { height: auto; }
    TurnsView #turns-detail { height: auto; max-height: 45%; overflow-y: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._turns: list[TurnTimed] = []

    def compose(self) -> ComposeResult:
        yield Static(stats_text([]), id="turns-stats")
        yield TurnsTable(id="turns-table")
        yield Static(legend_text(), id="turns-legend")
        yield Static("", id="turns-detail")

    def show(
        self, turns: Sequence[TurnTimed], stats_over: Sequence[TurnTimed] | None = None
    ) -> None:
        """`stats_over`: the turns the percentiles cover when not all are listed (a report)."""
        if len(turns) == len(self._turns):
            return
        self._turns = list(turns)
        self.query_one("#turns-stats", Static).update(
            stats_text(self._turns if stats_over is None else stats_over)
        )
        table = self.query_one(TurnsTable)
        scale = max(
            [t.total_ms or 0.0 for t in self._turns] + [float(t.sla_ms or 0) for t in self._turns]
        )
        scale = scale * 1.05 if scale else 0.0
        table.clear()
        for turn in self._turns:
            slow = slowest_part(turn)
            over = verdict(turn)
            table.add_row(
                Text(str(turn.turn)),
                Text(turn.input),
                bar_text(turn, scale),
                Text("—" if turn.total_ms is None else f"{turn.total_ms:.0f}", justify="right"),
                Text("—" if slow is None else f"{slow['name']} {slow['ms']:.0f}"),
                Text(
                    over,
                    style="bold red"
                    if over == "over"
                    else ("yellow" if over not in ("ok", "—") else ""),
                ),
                key=str(turn.turn),
            )
        if self._turns:
            table.move_cursor(row=len(self._turns) - 1)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        turn = next((t for t in self._turns if str(t.turn) == key), None)
        if turn is not None:
            self.query_one("#turns-detail", Static).update("\n".join(detail_lines(turn)))
