"""The command palette provider: every monitor action as a "group: verb" command."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from convai_tui.core import controls
from convai_tui.core.states import SessionState

if TYPE_CHECKING:
    from convai_tui.ui.app import ConvaiApp

Command = tuple[str, Callable[[], object], str]


def monitor_commands(app: ConvaiApp) -> list[Command]:
    """The commands available now (retry commands only while a retry is scheduled)."""
    commands: list[Command] = [
        ("view: session", partial(app.action_show_tab, "session"), "Transcript and message input"),
        ("view: errors", partial(app.action_show_tab, "errors"), "Every error with cause and fix"),
        ("view: participants", partial(app.action_show_tab, "participants"), "Who is in the room"),
        (
            "view: diagnostics",
            partial(app.action_show_tab, "diagnostics"),
            "Counters, room details, latency",
        ),
        (
            "view: requests",
            partial(app.action_show_tab, "requests"),
            "Sent messages and controls with their acks; context budget",
        ),
        ("help: keys", app.action_help, "Every key, its binding id and what it does"),
        ("view: doctor", app.action_doctor, "Network, LiveKit and audio checks"),
        (
            "diagnostics: write snapshot",
            app.action_write_snapshot,
            "Save counters and room details (no secrets) as JSON in the state dir",
        ),
        ("errors: show all", partial(app.action_filter_errors, None), "Clear the error filter"),
    ]
    for category in sorted(app.model.error_counts):
        commands.append(
            (
                f"errors: filter {category}",
                partial(app.action_filter_errors, category),
                f"Only {category}.* errors",
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
    commands.append(
        (
            "diagnostics: hide token" if revealed else "diagnostics: reveal token",
            lambda: (app.action_show_tab("diagnostics"), app.action_toggle_token()),
            "Show or hide the LiveKit token on the diagnostics tab",
        )
    )
    commands.append(("app: quit", app.action_quit, "Close the session and quit"))
    return commands


def control_commands(app: ConvaiApp) -> list[Command]:
    """The session controls (protocol §2.2); each result shows on the Requests tab."""
    tts_on = app.model.tts_enabled
    stt_muted = app.model.stt_muted
    return [
        ("control: trigger…", partial(app.action_control_form, "trigger"),
         "Send a trigger by name and/or message"),
        ("control: update context…", partial(app.action_control_form, "context"),
         "Append, replace or reset the runtime context"),
        ("control: template keys…", partial(app.action_control_form, "template-keys"),
         "Set the template keys (replaces them all)"),
        ("control: dynamic info…", partial(app.action_control_form, "dynamic-info"),
         "Update the dynamic info text"),
        ("control: tts off" if tts_on else "control: tts on", app.action_toggle_tts,
         "Turn the character's voice " + ("off" if tts_on else "on")),
        ("control: stt on" if stt_muted else "control: stt off", app.action_toggle_stt,
         "The character " + ("listens to the microphone again" if stt_muted
                             else "ignores what the microphone hears (typed text still goes)")),
        ("control: interrupt", app.action_interrupt, "Stop the character's current reply"),
        ("control: force user stopped speaking",
         partial(app.send_control, controls.force_user_stopped_speaking()),
         "End the user's utterance now"),
        ("control: reset idle timer", partial(app.send_control, controls.reset_idle_timer()),
         "Tell the server the user is still here"),
        ("control: kill pipeline", app.action_kill_pipeline,
         "End the session server-side (asks first)"),
    ]


class ConvaiCommands(Provider):
    """Session, view, error-filter and diagnostics commands."""

    def _commands(self) -> list[Command]:
        from convai_tui.ui.app import ConvaiApp

        app = self.app
        if not isinstance(app, ConvaiApp):
            return []
        return monitor_commands(app)

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
