"""A one-line question for the room's commands (add a character, pick a replacement target);
Enter answers, Escape cancels (None)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from convai_tui.ui.registry import ROOM_PROMPT_BINDINGS


class RoomPrompt(ModalScreen[str | None]):
    DEFAULT_CSS = """
    RoomPrompt { align: center middle; }
    RoomPrompt > Vertical { width: 70; height: auto; border: round $accent; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = ROOM_PROMPT_BINDINGS

    def __init__(self, question: str, placeholder: str, *, suggestions: Sequence[str] = ()) -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder
        self.suggestions = list(suggestions)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            yield Input(
                placeholder=self.placeholder,
                id="room-prompt-input",
                suggester=SuggestFromList(self.suggestions) if self.suggestions else None,
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
