"""The error log: a virtual one-row-per-error list with a cursor, a category filter and a detail
panel that shows the catalogue's cause, fix and how to verify."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import BindingType
from textual.events import Click, Resize
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from convai_tui.core.errors.error import SessionError
from convai_tui.ui.formatting import clock_time
from convai_tui.ui.registry import ERROR_LIST_BINDINGS


def column_widths(width: int) -> tuple[int, int]:
    """(code width, message width) once the fixed columns are placed in `width` cells."""
    rest = max(0, width - FIXED_W)
    code = min(44, max(16, int(rest * 0.6)))
    message = rest - code - 1
    return code, message if message >= 8 else 0


COLUMNS = (("time", 8), ("category", 10), ("stage", 10), ("rec", 3), ("http", 4))
FIXED_W = sum(w + 1 for _, w in COLUMNS)


def _cell(text: str, width: int) -> str:
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def row_cells(error: SessionError, width: int) -> list[tuple[str, str]]:
    """The cells of one row as (text, component) pairs, already padded to their widths."""
    code_w, message_w = column_widths(width)
    http = str(error.http_status) if error.http_status else "—"
    cells = [
        (_cell(clock_time(error.at), 8), "time"),
        (_cell(error.category, 10), "category"),
        (_cell(error.code, code_w), "code"),
        (_cell(error.stage.value, 10), "stage"),
        (_cell("yes" if error.recoverable else "no", 3), "yes" if error.recoverable else "no"),
        (_cell(http, 4), "http"),
    ]
    if message_w:
        cells.append((_cell(error.message.replace("\n", " "), message_w), "message"))
    return cells


def header_text(width: int) -> str:
    code_w, message_w = column_widths(width)
    parts = [
        _cell("time", 8),
        _cell("category", 10),
        _cell("code", code_w),
        _cell("stage", 10),
        _cell("rec", 3),
        _cell("http", 4),
    ]
    if message_w:
        parts.append(_cell("message", message_w))
    return " ".join(parts)


class ErrorList(ScrollView, can_focus=True):
    """Every error so far (or those of one category); the cursor follows new errors at the end."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "errors--cursor",
        "errors--time",
        "errors--code",
        "errors--yes",
        "errors--no",
        "errors--dim",
    }
    BINDINGS: ClassVar[list[BindingType]] = ERROR_LIST_BINDINGS

    class Highlighted(Message):
        """The selected error changed (None when the list is empty)."""

        def __init__(self, error: SessionError | None) -> None:
            super().__init__()
            self.error = error

    class WidthChanged(Message):
        """The row width changed: the column header must be laid out again."""

    class FilterChanged(Message):
        def __init__(self, category: str | None) -> None:
            super().__init__()
            self.category = category

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._source: list[SessionError] = []
        self._consumed = 0
        self._shown: list[int] = []
        self.category: str | None = None
        self.cursor = -1

    @property
    def shown_count(self) -> int:
        return len(self._shown)

    @property
    def selected(self) -> SessionError | None:
        if 0 <= self.cursor < len(self._shown):
            return self._source[self._shown[self.cursor]]
        return None

    def sync(self, source: list[SessionError]) -> None:
        if source is not self._source:
            self._source, self._consumed, self._shown, self.cursor = source, 0, [], -1
        if self._consumed >= len(source):
            return
        following = self.cursor >= len(self._shown) - 1
        category = self.category
        for index in range(self._consumed, len(source)):
            if category is None or source[index].category == category:
                self._shown.append(index)
        self._consumed = len(source)
        self._resize_virtual()
        if following:
            self._move_to(len(self._shown) - 1)
        self.refresh()

    def set_filter(self, category: str | None) -> None:
        """Show only `category` (None: everything); the cursor goes to the newest match."""
        self.category = category
        self._shown = [
            i
            for i in range(self._consumed)
            if category is None or self._source[i].category == category
        ]
        self.cursor = -1
        self._resize_virtual()
        self._move_to(len(self._shown) - 1)
        self.refresh()
        self.post_message(self.FilterChanged(category))

    def action_cycle_filter(self) -> None:
        categories = sorted(Counter(e.category for e in self._source[: self._consumed]))
        options: list[str | None] = [None, *categories]
        position = options.index(self.category) if self.category in options else 0
        self.set_filter(options[(position + 1) % len(options)])

    def action_cursor(self, delta: int) -> None:
        self._move_to(max(0, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self._move_to(max(0, self.cursor + direction * max(1, self.size.height - 1)))

    def action_jump(self, where: int) -> None:
        self._move_to(len(self._shown) - 1 if where < 0 else 0)

    def _move_to(self, position: int) -> None:
        position = min(position, len(self._shown) - 1)
        if position == self.cursor:
            return
        self.cursor = position
        if position >= 0:
            self.scroll_to_region(
                self._row_region(position), animate=False, immediate=True, force=True
            )
        self.refresh()
        self.post_message(self.Highlighted(self.selected))

    def _row_region(self, position: int) -> Region:
        return Region(0, position, max(1, self.size.width), 1)

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._shown))

    def on_resize(self, event: Resize) -> None:
        self._resize_virtual()
        self.post_message(self.WidthChanged())

    def on_click(self, event: Click) -> None:
        self._move_to(self.scroll_offset.y + event.y)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        position = scroll_y + y
        if position >= len(self._shown):
            return Strip.blank(width, base)
        error = self._source[self._shown[position]]
        row_style = base
        if position == self.cursor:
            row_style = base + self.get_component_rich_style("errors--cursor")
        segments: list[Segment] = []
        for text, part in row_cells(error, width):
            style = row_style
            if part in ("time", "code", "yes", "no"):
                accent = self._part_style(part)
                style = row_style + Style(color=accent.color, bold=accent.bold)
            segments.append(Segment(text, style))
            segments.append(Segment(" ", row_style))
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, row_style)
        return strip.apply_offsets(scroll_x, position)

    def _part_style(self, part: str) -> Style:
        return self.get_component_rich_style(f"errors--{part}")


def filter_text(counts: Counter[str], total: int, category: str | None) -> Text:
    """The filter bar: every category with its count, the active one highlighted."""
    text = Text()
    entries: list[tuple[str | None, str, int]] = [(None, "all", total)]
    entries += [(name, name, counts[name]) for name in sorted(counts)]
    for name, label, count in entries:
        chunk = f" {label} {count} "
        text.append(chunk, style="reverse bold" if name == category else "")
        text.append(" ")
    text.append(" f: next filter", style="dim")
    return text


def detail_text(error: SessionError | None) -> Text:
    """Everything about one error, with the catalogue's cause, fix and how to verify."""
    if error is None:
        return Text("No errors so far. Errors appear here with their cause and fix.", style="dim")
    entry = error.entry
    text = Text()
    text.append(error.code, style="bold")
    text.append(f" · at {clock_time(error.at)}\n")
    text.append(error.message + "\n")
    http = str(error.http_status) if error.http_status else "none"
    text.append(
        f"category {error.category} · stage {error.stage.value} · "
        f"recoverable {'yes' if error.recoverable else 'no'} · HTTP {http}",
        style="dim",
    )
    if error.session_id:
        text.append(f" · session {error.session_id}", style="dim")
    text.append("\n")
    for label, value in (("Cause", entry.cause), ("Fix", entry.fix), ("Verify", entry.verify)):
        if value:
            text.append(f"{label}: ", style="bold")
            text.append(value + "\n")
    if error.detail:
        text.append("Detail: ", style="bold")
        text.append(error.detail + "\n")
    text.rstrip()
    return text


class ErrorDetail(Static):
    """Cause, fix and how to verify for the selected error."""

    def show(self, error: SessionError | None) -> None:
        self.error = error
        self.update(detail_text(error))
