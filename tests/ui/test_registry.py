"""The UI registry is the one table the app, the monitor, the palette and the help derive from."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from rich.console import Console
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.widgets import Static, TabbedContent, TabPane

from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.commands import monitor_commands
from convai_tui.ui.registry import BINDING_SECTIONS, TABS, default_keys, key_hint
from convai_tui.ui.screens.controls import ConfirmScreen, ControlForm
from convai_tui.ui.screens.help import HelpScreen, binding_rows
from convai_tui.ui.widgets.doctor import DoctorPanel
from convai_tui.ui.widgets.errors import ErrorList
from convai_tui.ui.widgets.transcript import TranscriptView
from tests.ui.fake_core import T0, FakeClock, FakeSession, Step
from tests.ui.scenarios import connect_events, settle

BOUND_CLASSES: list[type[DOMNode]] = [
    ConvaiApp,
    ErrorList,
    TranscriptView,
    DoctorPanel,
    ControlForm,
    ConfirmScreen,
    HelpScreen,
]
"""Every class of the UI that declares bindings."""


def ids(bindings: list[BindingType]) -> list[str]:
    return [b.id for b in bindings if isinstance(b, Binding) and not b.system and b.id]


@pytest.mark.parametrize("cls", BOUND_CLASSES, ids=lambda c: c.__name__)
def test_help_lists_every_binding_of_every_screen(cls: type[DOMNode]) -> None:
    listed = [row[0] for row in binding_rows({})]
    own = ids(cls.BINDINGS)
    assert own, f"{cls.__name__} declares no binding ids"
    assert set(own) <= set(listed)


def test_binding_ids_are_unique_and_every_binding_has_a_tooltip() -> None:
    every = [b for _where, bindings in BINDING_SECTIONS for b in bindings]
    counts = Counter(ids(every))
    assert [i for i, n in counts.items() if n > 1] == []
    missing = [
        b.id for b in every if isinstance(b, Binding) and not b.system and b.show and not b.tooltip
    ]
    assert missing == []


def test_every_tab_has_a_binding_and_a_command() -> None:
    app_bindings = {b.id: b for b in ConvaiApp.BINDINGS if isinstance(b, Binding)}
    for tab in TABS:
        binding = app_bindings[tab.binding_id]
        assert binding.action == f"show_tab('{tab.id}')"
        assert binding.key == tab.key == default_keys(tab.binding_id)
    with pytest.raises(KeyError):
        default_keys("no.such-binding")


async def test_monitor_panes_palette_and_keys_follow_the_tab_table() -> None:
    clock = FakeClock(T0)
    session = FakeSession(script=[Step(e) for e in connect_events()], clock=clock)
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        tabbed = app.query_one(TabbedContent)
        panes = [(pane.id, tabbed.get_tab(pane).label_text) for pane in app.query(TabPane)]
        assert panes == [(tab.id, tab.title) for tab in TABS]
        commands = {name: callback for name, callback, _ in monitor_commands(app)}
        for tab in TABS:
            await pilot.press(tab.key)
            assert app.query_one(TabbedContent).active == tab.id
            assert app.focused is app.query_one(tab.focus)
            commands[TABS[0].command]()
            await pilot.pause()
            commands[tab.command]()
            await pilot.pause()
            assert app.query_one(TabbedContent).active == tab.id


async def test_help_screen_shows_the_doctor_form_and_confirm_keys_by_section() -> None:
    clock = FakeClock(T0)
    app = ConvaiApp(FakeSession(clock=clock), clock=clock, keymap={"doctor.rerun": "ctrl+t"})
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#help-table", Static).content)
        text = console.export_text()
    for where, _bindings in BINDING_SECTIONS:
        assert where in text
    for binding_id in ("doctor.rerun", "form.cancel", "confirm.yes", "confirm.no"):
        assert binding_id in text
    assert "ctrl+t" in text


def test_key_hints_come_from_the_registry_with_the_keymap_applied() -> None:
    assert key_hint({}, "retry.cancel") == "esc"
    assert key_hint({}, "app.help") == "f1"
    assert key_hint({"audio.push-to-talk": "f10,ctrl+t"}, "audio.push-to-talk") == "f10"
