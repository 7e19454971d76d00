"""The monitor's message field."""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class MessageInput(Input):
    """Textual's `Input` whose text width does not lay out the screen.

    `Input` sets its virtual size to its text's width on every key, and the base widget's
    `virtual_size` asks for a layout pass of the whole screen when it changes. The field's box
    is one line whatever its text (no scrollbars, no auto width), so a repaint is enough: the
    scroll offset and cursor only read the stored size."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), repaint=True)
