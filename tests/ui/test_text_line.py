"""A line set again with the text it shows asks for no layout pass; a new text does."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from convai_tui.ui.widgets.text_line import TextLine
from tests.ui.layouts import record_layouts


class LineApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TextLine("start", id="line")


async def test_showing_the_same_content_again_does_nothing() -> None:
    app = LineApp()
    async with app.run_test(size=(40, 4)) as pilot:
        line = app.query_one(TextLine)
        layouts = record_layouts(line)
        line.show("start")
        line.show(Text("styled", style="bold"))
        line.show(Text("styled", style="bold"))
        line.show("start")
        await pilot.pause()
        assert layouts == [True, True]
        assert str(line.content) == "start"
