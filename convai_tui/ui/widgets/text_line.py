"""A line of text that is set again on every batch of session events."""

from __future__ import annotations

from typing import Any

from textual.visual import VisualType
from textual.widgets import Static


class TextLine(Static):
    """A `Static` whose `show` ignores the content it already shows.

    `Static.update` asks for a layout pass of the whole screen; the lines that show part of
    the session (ids, the input hint, the context budget) are set again on every batch of
    events, and their text rarely changes while the character talks."""

    def __init__(self, content: VisualType = "", **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._shown: object = content

    def show(self, content: VisualType) -> None:
        if content == self._shown:
            return
        self._shown = content
        self.update(content)
