"""Watching a widget's refresh requests: which of them ask for a layout pass of the screen."""

from __future__ import annotations

from typing import Any

from textual.widget import Widget


def record_layouts(widget: Widget) -> list[bool]:
    """From now on, every refresh `widget` asks for appends whether it wants a layout pass."""
    layouts: list[bool] = []
    refresh = widget.refresh

    def counting(*regions: Any, **options: Any) -> Widget:
        layouts.append(bool(options.get("layout")))
        return refresh(*regions, **options)

    widget.refresh = counting  # type: ignore[method-assign]
    return layouts
