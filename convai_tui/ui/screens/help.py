"""`?`: every key of every screen with its binding id (the name to use in a keymap)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from convai_tui.ui.registry import BINDING_SECTIONS, HELP_BINDINGS

HELP_INTRO = (
    "Keys can be remapped with a keymap (binding id → keys) in the config file.\n"
    "Any key answers an idle warning. ctrl+p opens the command palette."
)

BindingSections = Sequence[tuple[str, Sequence[BindingType]]]


def section_rows(
    keymap: dict[str, str], sections: BindingSections = BINDING_SECTIONS
) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(where, [(binding id, keys, description)]) per section, with `keymap` overrides applied.
    System bindings (Textual's own ctrl+c hint) are left out."""
    out: list[tuple[str, list[tuple[str, str, str]]]] = []
    for where, bindings in sections:
        rows = [
            (
                binding.id,
                keymap.get(binding.id, binding.key),
                binding.tooltip or binding.description,
            )
            for binding in bindings
            if isinstance(binding, Binding) and not binding.system and binding.id
        ]
        if rows:
            out.append((where, rows))
    return out


def binding_rows(
    keymap: dict[str, str], sections: BindingSections = BINDING_SECTIONS
) -> list[tuple[str, str, str]]:
    """(binding id, keys, description) for every binding, with `keymap` overrides applied."""
    return [row for _where, rows in section_rows(keymap, sections) for row in rows]


class HelpScreen(ModalScreen[None]):
    """A modal list of keys by where they work; escape, ? or f1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = HELP_BINDINGS

    def __init__(
        self, keymap: dict[str, str], sections: BindingSections = BINDING_SECTIONS
    ) -> None:
        super().__init__(id="help")
        self.keymap = keymap
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, pad_edge=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("does")
        table.add_column("binding id", style="dim", no_wrap=True)
        for index, (where, rows) in enumerate(section_rows(self.keymap, self.sections)):
            if index:
                table.add_row()
            table.add_row(where, style="italic")
            for binding_id, keys, description in rows:
                table.add_row(keys.replace("question_mark", "?"), description, binding_id)
        with VerticalScroll(id="help-body"):
            yield Static("Keys", id="help-title")
            yield Static(HELP_INTRO, id="help-intro")
            yield Static(table, id="help-table")

    def action_close(self) -> None:
        self.dismiss(None)
