"""A new transcript line lays out the screen only when the view's scrollbar appears: once it
overflows, the view scrolls to the new line and the scrollbar's thumb follows, with a repaint."""

from __future__ import annotations

from textual.app import App, ComposeResult

from convai_tui.ui.model.views import TranscriptLine
from convai_tui.ui.widgets.transcript import TranscriptView
from tests.ui.layouts import record_layouts

T0 = 1_700_000_000.0


class TranscriptApp(App[None]):
    CSS = "TranscriptView { height: 5; width: 60; }"

    def compose(self) -> ComposeResult:
        yield TranscriptView(id="transcript")


async def test_lines_lay_out_only_when_the_scrollbar_appears() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(TranscriptView)
        layouts = record_layouts(view)
        source: list[TranscriptLine] = []

        async def add(count: int) -> int:
            layouts.clear()
            for _ in range(count):
                source.append(TranscriptLine(T0 + len(source), "user", f"line {len(source)}"))
            view.sync(source)
            await pilot.pause()
            await pilot.pause()
            return sum(layouts)

        assert await add(3) == 0  # fits: no scrollbar
        assert not view.show_vertical_scrollbar
        assert await add(4) >= 1  # overflows: the scrollbar appears
        assert view.show_vertical_scrollbar
        bottom = view.max_scroll_y
        for _ in range(3):
            assert await add(1) == 0
            assert view.virtual_size.height == view.row_count == len(source)
            assert view.vertical_scrollbar.window_virtual_size == len(source)
            bottom += 1
            assert view.scroll_y == view.max_scroll_y == bottom  # the newest line in view
