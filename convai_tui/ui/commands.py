"""The command palette provider: every monitor action as a "group: verb" command.

It works on whatever the palette's App offers as a `CommandTarget` (the monitor App does), so
it needs no import of the App itself.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol, runtime_checkable

from convai_tui.core.api.port import SessionPort
from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import CATALOGUE
from convai_tui.core.rtvi import controls
from convai_tui.core.rtvi.controls import ControlRequest
from convai_tui.ui.command_list import Command, CommandListProvider
from convai_tui.ui.model.reducer import MonitorModel
from convai_tui.ui.registry import DIAGNOSTICS_TAB, TABS

ERROR_CATEGORIES = frozenset(entry.category for entry in CATALOGUE.values())
"""Every category an error can have, so a filter is there before its first error."""


class TokenView(Protocol):
    """The part of the monitor screen a command reads."""

    token_revealed: bool


@runtime_checkable
class CommandTarget(Protocol):
    """What the palette's commands read and call on the App."""

    session: SessionPort
    model: MonitorModel
    read_only: bool

    @property
    def monitor(self) -> TokenView: ...

    def action_show_tab(self, tab: str) -> None: ...
    def action_help(self) -> None: ...
    def action_doctor(self) -> None: ...
    def action_write_snapshot(self) -> None: ...
    def action_filter_errors(self, category: str | None) -> None: ...
    def action_retry_now(self) -> None: ...
    def action_cancel_retry(self) -> None: ...
    def action_disconnect(self) -> object: ...
    def action_connect(self) -> object: ...
    def action_toggle_token(self) -> None: ...
    async def action_quit(self) -> None: ...
    def action_control_form(self, kind: str) -> None: ...
    def action_toggle_tts(self) -> None: ...
    def action_toggle_stt(self) -> None: ...
    def action_interrupt(self) -> None: ...
    def action_kill_pipeline(self) -> None: ...
    def send_control(self, request: ControlRequest) -> None: ...


def monitor_commands(app: CommandTarget) -> list[Command]:
    """The commands available now (retry commands only while a retry is scheduled)."""
    commands: list[Command] = [
        (tab.command, partial(app.action_show_tab, tab.id), tab.palette_help) for tab in TABS
    ]
    commands += [
        ("help: keys", app.action_help, "Every key, its binding id and what it does"),
        (
            "diagnostics: write snapshot",
            app.action_write_snapshot,
            "Save counters and room details (no secrets) as JSON in the state dir",
        ),
        ("errors: show all", partial(app.action_filter_errors, None), "Clear the error filter"),
    ]
    counts = app.model.error_counts
    for category in sorted(ERROR_CATEGORIES | set(counts)):
        commands.append(
            (
                f"errors: filter {category}",
                partial(app.action_filter_errors, category),
                f"Only {category}.* errors ({counts.get(category, 0)} so far)",
            )
        )
    if not app.read_only:
        if app.model.retry is not None:
            commands.append(
                (
                    "session: retry now",
                    app.action_retry_now,
                    "Run the scheduled attempt immediately",
                )
            )
            commands.append(
                (
                    "session: cancel retry",
                    app.action_cancel_retry,
                    "Give up retrying; the session ends disconnected",
                )
            )
        state = app.session.state
        if state not in (SessionState.DISCONNECTED, SessionState.DISCONNECTING):
            commands.append(
                ("session: disconnect", app.action_disconnect, "End the session cleanly")
            )
        if state in (SessionState.DISCONNECTED, SessionState.ERROR):
            commands.append(
                ("session: connect", app.action_connect, "Connect again (leaves Error first)")
            )
        if state is SessionState.CONNECTED:
            commands.extend(control_commands(app))
    revealed = app.monitor.token_revealed

    def toggle_token() -> None:
        app.action_show_tab(DIAGNOSTICS_TAB.id)
        app.action_toggle_token()

    commands.append(
        (
            "diagnostics: hide token" if revealed else "diagnostics: reveal token",
            toggle_token,
            "Show or hide the LiveKit token on the diagnostics tab",
        )
    )
    commands.append(("app: quit", app.action_quit, "Close the session and quit"))
    return commands


def control_commands(app: CommandTarget) -> list[Command]:
    """The session controls (protocol §2.2); each result shows on the Requests tab."""
    tts_on = app.model.tts_enabled
    stt_muted = app.model.stt_muted
    return [
        (
            "control: trigger…",
            partial(app.action_control_form, "trigger"),
            "Send a trigger by name and/or message",
        ),
        (
            "control: update context…",
            partial(app.action_control_form, "context"),
            "Append, replace or reset the runtime context",
        ),
        (
            "control: template keys…",
            partial(app.action_control_form, "template-keys"),
            "Set the template keys (replaces them all)",
        ),
        (
            "control: dynamic info…",
            partial(app.action_control_form, "dynamic-info"),
            "Update the dynamic info text",
        ),
        (
            "control: tts off" if tts_on else "control: tts on",
            app.action_toggle_tts,
            "Turn the character's voice " + ("off" if tts_on else "on"),
        ),
        (
            "control: stt on" if stt_muted else "control: stt off",
            app.action_toggle_stt,
            "The character "
            + (
                "listens to the microphone again"
                if stt_muted
                else "ignores what the microphone hears (typed text still goes)"
            ),
        ),
        ("control: interrupt", app.action_interrupt, "Stop the character's current reply"),
        (
            "control: force user stopped speaking",
            partial(app.send_control, controls.force_user_stopped_speaking()),
            "End the user's utterance now",
        ),
        (
            "control: reset idle timer",
            partial(app.send_control, controls.reset_idle_timer()),
            "Tell the server the user is still here",
        ),
        (
            "control: kill pipeline",
            app.action_kill_pipeline,
            "End the session server-side (asks first)",
        ),
    ]


class ConvaiCommands(CommandListProvider):
    """Session, view, error-filter and diagnostics commands."""

    def _commands(self) -> list[Command]:
        app = self.app
        if not isinstance(app, CommandTarget):
            return []
        return monitor_commands(app)
