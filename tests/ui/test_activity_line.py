"""The activity line re-lays out the screen only when it appears, disappears or changes height:
a layout pass repaints every widget, and a streaming reply updates the line chunk by chunk."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from textual.app import App, ComposeResult

from convai_tui.ui.model.reducer import MonitorModel
from convai_tui.ui.widgets.banners import ActivityLine
from tests.ui.layouts import record_layouts


def streaming(text: str) -> MonitorModel:
    model = SimpleNamespace(
        streaming_role="character" if text else None,
        streaming_text=text,
        display_name="Ava",
        thinking=False,
        activity_note=None,
    )
    return cast(MonitorModel, model)


class LineApp(App[None]):
    CSS = "#activity { display: none; height: auto; max-height: 3; width: 40; }"

    def compose(self) -> ComposeResult:
        yield ActivityLine("", id="activity")


async def test_a_streaming_reply_lays_out_only_when_the_line_appears_or_grows() -> None:
    app = LineApp()
    async with app.run_test(size=(60, 10)) as pilot:
        line = app.query_one(ActivityLine)
        layouts = record_layouts(line)

        async def show(text: str) -> int:
            layouts.clear()
            line.show(streaming(text))
            await pilot.pause()
            return sum(layouts)

        assert await show("Hello") >= 1  # appears
        assert line.display and line.region.height == 1
        assert await show("Hello the") == 0  # same single line
        assert await show("Hello the") == 0  # nothing new
        assert await show("Hello there, this reply is long enough to wrap") >= 1
        assert line.region.height == 2
        assert await show("Hello there, this reply is long enough to wrap.") == 0
        assert await show("") >= 1  # disappears
        assert not line.display
