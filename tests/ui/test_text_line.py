"""A line set again with the text it shows asks for no layout pass; a new text does."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult

from convai_tui.ui.widgets.text_line import TextLine


class LineApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TextLine("start", id="line")


async def test_showing_the_same_content_again_does_nothing() -> None:
    app = LineApp()
    async with app.run_test(size=(40, 4)) as pilot:
        line = app.query_one(TextLine)
        layouts: list[bool] = []
        refresh = line.refresh

        def counting(*regions: Any, **options: Any) -> TextLine:
            layouts.append(bool(options.get("layout")))
            return refresh(*regions, **options)

        line.refresh = counting  # type: ignore[method-assign]
        line.show("start")
        line.show(Text("styled", style="bold"))
        line.show(Text("styled", style="bold"))
        line.show("start")
        await pilot.pause()
        assert layouts == [True, True]
        assert str(line.content) == "start"
