"""Typing in the message field repaints it without a layout pass of the screen, and a text
wider than the field still scrolls to keep the cursor in view."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from convai_tui.ui.widgets.message_input import MessageInput
from tests.ui.layouts import record_layouts


class FieldApp(App[None]):
    def __init__(self, field: Input) -> None:
        super().__init__()
        self.field = field

    def compose(self) -> ComposeResult:
        yield Static("above")
        yield self.field


async def _type(field: Input, text: str) -> tuple[list[bool], int]:
    app = FieldApp(field)
    async with app.run_test(size=(30, 6)) as pilot:
        field.focus()
        await pilot.pause()
        layouts = record_layouts(field)
        for key in text:
            await pilot.press("space" if key == " " else key)
        await pilot.pause()
        assert field.value == text
        return layouts, int(field.scroll_x)


async def test_typing_repaints_the_field_without_laying_out_the_screen() -> None:
    text = "hello number 1 and a text wider than the field"
    layouts, scroll_x = await _type(MessageInput(), text)
    assert layouts and not any(layouts)
    plain_layouts, plain_scroll_x = await _type(Input(), text)
    assert any(plain_layouts)  # what the subclass avoids
    assert scroll_x == plain_scroll_x > 0
