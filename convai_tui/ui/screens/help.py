"""`?`: every key of the monitor with its binding id (the name to use in a keymap)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_INTRO = (
    "Keys can be remapped with a keymap (binding id → keys) in the config file.\n"
    "Any key answers an idle warning. ctrl+p opens the command palette."
)


def _binding_sources() -> list[tuple[str, list[BindingType]]]:
    from convai_tui.ui.app import ConvaiApp
    from convai_tui.ui.widgets.errors import ErrorList
    from convai_tui.ui.widgets.transcript import TranscriptView

    return [
        ("everywhere", list(ConvaiApp.BINDINGS)),
        ("errors list", list(ErrorList.BINDINGS)),
        ("transcript", list(TranscriptView.BINDINGS)),
        ("this help", list(HelpScreen.BINDINGS)),
    ]


def binding_rows(keymap: dict[str, str]) -> list[tuple[str, str, str]]:
    """(binding id, keys, description) for every binding, with `keymap` overrides applied."""
    rows: list[tuple[str, str, str]] = []
    for _where, bindings in _binding_sources():
        for binding in bindings:
            if not isinstance(binding, Binding) or binding.system or not binding.id:
                continue
            keys = keymap.get(binding.id, binding.key)
            rows.append((binding.id, keys, binding.tooltip or binding.description))
    return rows


class HelpScreen(ModalScreen[None]):
    """A modal list of keys; escape, ? or f1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__(id="help")
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, pad_edge=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("does")
        table.add_column("binding id", style="dim", no_wrap=True)
        for binding_id, keys, description in binding_rows(self.keymap):
            table.add_row(keys.replace("question_mark", "?"), description, binding_id)
        with VerticalScroll(id="help-body"):
            yield Static("Keys", id="help-title")
            yield Static(HELP_INTRO, id="help-intro")
            yield Static(table, id="help-table")

    def action_close(self) -> None:
        self.dismiss(None)
