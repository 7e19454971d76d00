"""The conversation as a virtual, line-based view: only the visible rows are ever rendered.

Ingesting a line costs a word-wrap of its text, nothing more, so tens of thousands of lines a
second fit in a frame budget; rows are rebuilt only when the width changes.
"""

from __future__ import annotations

import textwrap
from typing import ClassVar

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType
from textual.events import Resize
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from convai_tui.ui.formatting import clock_time
from convai_tui.ui.model.reducer import TranscriptLine
from convai_tui.ui.registry import TRANSCRIPT_BINDINGS

TIME_W = 9
LABEL_W = 11
PREFIX_W = TIME_W + LABEL_W
STRIP_CACHE_ROWS = 1024
"""Rendered rows kept for reuse (a few screens' worth); dropped wholesale when full."""
_ROLES = ("time", "user", "character", "emotion", "action", "system", "warning")


def wrap_text(text: str, width: int) -> list[str]:
    """Word-wrap `text` into pieces of at most `width` cells (long words are split)."""
    width = max(1, width)
    pieces: list[str] = []
    for paragraph in text.split("\n") or [""]:
        if paragraph.isascii():
            if len(paragraph) <= width:
                pieces.append(paragraph)
            else:
                pieces.extend(textwrap.wrap(paragraph, width, drop_whitespace=True) or [""])
        elif cell_len(paragraph) <= width:
            pieces.append(paragraph)
        else:
            pieces.extend(chop_cells(paragraph, width))
    return pieces or [""]


class TranscriptView(ScrollView, can_focus=True):
    """Timestamped user and character lines, emotions, actions and system notes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "transcript--time",
        "transcript--user",
        "transcript--character",
        "transcript--emotion",
        "transcript--action",
        "transcript--system",
        "transcript--warning",
    }
    BINDINGS: ClassVar[list[BindingType]] = TRANSCRIPT_BINDINGS

    def __init__(self, *, character_label: str = "character", id: str | None = None) -> None:
        super().__init__(id=id)
        self._source: list[TranscriptLine] = []
        self._consumed = 0
        self._rows: list[tuple[int, str]] = []  # (line index, piece); first piece has prefix
        self._first_row: list[bool] = []
        self._wrap_width = 0
        self._following = True
        """The view shows the newest line: new lines and a resize keep it there."""
        self.character_label = character_label
        self._strips: dict[tuple[int, int, int], Strip] = {}
        self._strip_styles: tuple[Style, ...] = ()

    @property
    def line_count(self) -> int:
        """How many transcript lines this view has taken in."""
        return self._consumed

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def plain_lines(self) -> list[str]:
        """The visible text of every line (tests and copy)."""
        return [f"{self._role_name(line.role)}: {line.text}" for line in self._source]

    def sync(self, source: list[TranscriptLine]) -> None:
        """Take in the lines appended to `source` since the last call."""
        if source is not self._source:
            self._source, self._consumed = source, 0
            self._rows.clear()
            self._strips.clear()
            self._first_row.clear()
        if self._consumed >= len(source):
            return
        at_end = self.is_vertical_scroll_end or self.max_scroll_y == 0
        width = self._body_width()
        if width != self._wrap_width:
            self._rebuild(width)
        else:
            for index in range(self._consumed, len(source)):
                self._add_rows(index, source[index], width)
        self._consumed = len(source)
        self._set_virtual_height(len(self._rows))
        if at_end or self._following:
            self._follow_end()
        self.refresh()

    def _set_virtual_height(self, height: int) -> None:
        """Grow the scrollable area. Setting `virtual_size` lays out the whole screen, which
        only the vertical scrollbar appearing or going away needs: otherwise the scrollbar's
        thumb is updated in place and the view repaints."""
        size = Size(self.size.width, height)
        if not self.size or self.show_vertical_scrollbar != (height > self.container_size.height):
            self.virtual_size = size
            return
        self.set_reactive(Widget.virtual_size, size)
        self._scroll_update(size)

    def _follow_end(self) -> None:
        """Scroll to the newest line now, and again once laid out: until the layout has run, a
        view that just outgrew its height has no vertical scrollbar and refuses to scroll."""
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.scroll_end(animate=False, x_axis=False)

    def _body_width(self) -> int:
        """The text column: what is left of the prefix and of the vertical scrollbar, which is
        reserved even while hidden so a line never runs under it once it appears."""
        return max(10, self.size.width - PREFIX_W - max(1, self.styles.scrollbar_size_vertical))

    def _rebuild(self, width: int) -> None:
        self._wrap_width = width
        self._rows.clear()
        self._strips.clear()
        self._first_row.clear()
        for index in range(len(self._source)):
            self._add_rows(index, self._source[index], width)

    def _add_rows(self, index: int, line: TranscriptLine, width: int) -> None:
        first = True
        for piece in wrap_text(line.text, width):
            self._rows.append((index, piece))
            self._first_row.append(first)
            first = False

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._following = new >= self.max_scroll_y

    def on_resize(self, event: Resize) -> None:
        following = self._following  # the view got shorter (a banner above it) or narrower
        width = self._body_width()
        if width != self._wrap_width:
            source_len = self._consumed
            self._wrap_width = width
            self._rows.clear()
            self._strips.clear()
            self._first_row.clear()
            for index in range(source_len):
                self._add_rows(index, self._source[index], width)
            self.virtual_size = Size(self.size.width, len(self._rows))
        if following:
            self._follow_end()

    def _role_name(self, role: str) -> str:
        return {
            "user": "you",
            "character": self.character_label,
            "emotion": "emotion",
            "action": "action",
            "warning": "warning",
        }.get(role, "·")

    def _label(self, role: str, speaker: str | None = None) -> str:
        label = speaker or self._role_name(role)
        if len(label) > LABEL_W - 2:
            label = label[: LABEL_W - 3] + "…"
        return f"{label:<{LABEL_W - 2}}› "

    def _style(self, role: str) -> Style:
        name = f"transcript--{role}"
        if name not in self.COMPONENT_CLASSES:
            name = "transcript--system"
        return self.get_component_rich_style(name)

    def render_lines(self, crop: Region) -> list[Strip]:
        # Styles are looked up once per pass, not per row; rows already rendered with the same
        # styles, width and horizontal scroll are reused, so scrolling to the end by a few
        # rows renders only the new ones.
        styles = (self.rich_style, *(self._style(role) for role in _ROLES))
        if styles != self._strip_styles:
            self._strip_styles = styles
            self._strips.clear()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        row = scroll_y + y
        if row >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        key = (row, width, scroll_x)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) >= STRIP_CACHE_ROWS:
                self._strips.clear()
            strip = self._strips[key] = self._render_row(row, width, scroll_x)
        return strip

    def _render_row(self, row: int, width: int, scroll_x: int) -> Strip:
        base, *role_styles = self._strip_styles or (self.rich_style,)
        by_role = dict(zip(_ROLES, role_styles, strict=False))
        index, piece = self._rows[row]
        line = self._source[index]
        body_style = by_role.get(line.role) or self._style(line.role)
        if self._first_row[row]:
            segments = [
                Segment(f"{clock_time(line.at)} ", base + by_role.get("time", self._style("time"))),
                Segment(self._label(line.role, line.speaker), base + body_style),
                Segment(piece, base + body_style),
            ]
        else:
            segments = [Segment(" " * PREFIX_W, base), Segment(piece, base + body_style)]
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, base)
        return strip.apply_offsets(scroll_x, row)
