"""The room's participants; joins, leaves and changes stay highlighted for a moment."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from convai_tui.ui.formatting import KIND_LABELS, clock_time
from convai_tui.ui.model.reducer import FLASH_SECONDS, ParticipantRow

COLUMNS = ("identity", "name", "kind", "muted", "speaking", "quality", "tracks", "since")
QUALITY_STYLES = {"excellent": "green", "good": "green", "poor": "yellow", "lost": "bold red"}

PAD = " "
"""Each cell carries its own one-space margins, in the cell's style, instead of the table's
cell_padding (which is drawn in the row's style): a highlighted cell is then one run of one
style like every other cell, and a row's text starts where its header's does in every
renderer of the screen, SVG viewers included."""


def padded(text: str, style: Style | str = "") -> Text:
    return Text(f"{PAD}{text}{PAD}", style=style)


class ParticipantsTable(DataTable[Text]):
    """One row per participant; recently changed rows carry a highlight for FLASH_SECONDS."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=0)
        self.rows_shown: list[tuple[str, str]] = []  # (identity, highlight) for tests
        self._signature: tuple[object, ...] = ()

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(padded(name), key=name)

    def show(self, participants: dict[str, ParticipantRow], now: float) -> None:
        visible: list[tuple[ParticipantRow, str]] = []
        for row in participants.values():
            fresh = now - row.changed_at < FLASH_SECONDS
            if row.left_at is not None and not fresh:
                continue
            visible.append((row, row.change if fresh else ""))
        signature = tuple((r.info, r.change, flash) for r, flash in visible)
        if signature == self._signature:
            return
        self._signature = signature
        self.rows_shown = [(r.info.identity, flash) for r, flash in visible]
        self.clear()
        for row, flash in visible:
            style = self._flash_style(flash)
            info = row.info
            cells = (
                info.identity,
                info.name or "—",
                KIND_LABELS.get(info.kind, info.kind),
                "muted" if info.muted else "",
                "● speaking" if info.speaking else "",
                info.quality or "—",
                ", ".join(info.tracks) or "—",
                f"{flash} {clock_time(row.changed_at)}" if flash else clock_time(row.joined_at),
            )
            texts = [padded(c, style) for c in cells]
            texts[5].stylize(QUALITY_STYLES.get(info.quality, "dim"))  # LiveKit's own rating
            self.add_row(*texts, key=info.identity)

    def _flash_style(self, flash: str) -> Style:
        if not flash:
            return Style()
        colour = {"joined": "success", "left": "error", "updated": "warning"}[flash]
        value = self.app.theme_variables.get(colour)
        return Style(color=value, bold=True) if value else Style(bold=True)
