"""The one table of the monitor's tabs and of every key binding of every screen.

The app, the monitor screen, the command palette and the help screen all derive from these
tables (harlequin's `actions.py`), so a tab id or a binding is written once. Adding a tab: a
`Tab` here, its pane in `screens/monitor.py`, and the widget that fills it.
It imports nothing of the UI but `formatting`, so every layer above may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from convai_tui.ui.formatting import key_label


@dataclass(frozen=True, slots=True)
class Tab:
    """A tab of the monitor screen."""

    id: str
    """The TabPane id and the argument of the app's `show_tab` action."""
    title: str
    """The tab's label above the panes."""
    key: str
    """The default key that shows it."""
    footer: str
    """The short label in the footer."""
    tooltip: str
    """What the tab shows, on the binding (footer tooltip, help screen)."""
    focus: str
    """CSS selector of the widget focused when the tab is shown."""
    palette_help: str
    """What the tab shows, in the command palette."""
    in_footer: bool = True
    """Whether the footer lists its key (the help screen and the palette always do)."""

    @property
    def binding_id(self) -> str:
        """The name a keymap uses to remap the tab's key."""
        return f"view.{self.id}"

    @property
    def command(self) -> str:
        """The command palette's name for showing the tab."""
        return f"view: {self.id}"

    def binding(self) -> Binding:
        return Binding(
            self.key,
            f"show_tab('{self.id}')",
            self.footer,
            show=self.in_footer,
            id=self.binding_id,
            tooltip=self.tooltip,
        )


SESSION_TAB = Tab(
    "session",
    "Session",
    "f2",
    "Session",
    "Transcript and message input",
    "#message-input",
    "Transcript and message input",
)
ERRORS_TAB = Tab(
    "errors",
    "Errors",
    "f3",
    "Errors",
    "Every error with cause, fix and how to verify",
    "#error-list",
    "Every error with cause and fix",
)
PARTICIPANTS_TAB = Tab(
    "participants",
    "Participants",
    "f4",
    "People",
    "Participants in the room",
    ".participants-view",
    "Who is in the room",
)
DIAGNOSTICS_TAB = Tab(
    "diagnostics",
    "Diagnostics",
    "f5",
    "Diag",
    "Counters, room details and latency",
    "#diagnostics-scroll",
    "Counters, room details, latency",
)
DOCTOR_TAB = Tab(
    "doctor",
    "Doctor",
    "f6",
    "Doctor",
    "Network, LiveKit and audio checks, run on demand (convai-tui doctor)",
    "#doctor-panel",
    "Network, LiveKit and audio checks (r runs them)",
)
REQUESTS_TAB = Tab(
    "requests",
    "Requests",
    "f7",
    "Requests",
    "Every message and control sent, its acknowledgement, the context budget",
    "#requests-table",
    "Sent messages and controls with their acks; context budget",
)

LINK_TAB = Tab(
    "link",
    "Link",
    "f10",
    "Link",
    "The WebRTC link: RTT, jitter, loss, bitrates, levels, states, turn times",
    "#link-view",
    "Link plots: RTT, jitter, loss, bitrates, levels, state timeline, turn times",
)

TURNS_TAB = Tab(
    "turns",
    "Turns",
    "ctrl+t",
    "Turns",
    "Every turn as a waterfall: where the time went, SLA marks, p50/p95 per part",
    "#turns-table",
    "Turn latency waterfall: parts by owner, slowest part, SLA, percentiles",
    in_footer=False,
)

TABS: tuple[Tab, ...] = (
    SESSION_TAB,
    ERRORS_TAB,
    PARTICIPANTS_TAB,
    DIAGNOSTICS_TAB,
    DOCTOR_TAB,
    REQUESTS_TAB,
    LINK_TAB,
    TURNS_TAB,
)
"""The monitor's tabs in display order (the footer lists their keys in this order too)."""

TABS_BY_ID: dict[str, Tab] = {tab.id: tab for tab in TABS}

APP_BINDINGS: list[BindingType] = [
    Binding(
        "ctrl+q",
        "quit",
        "Quit",
        priority=True,
        id="app.quit",
        tooltip="Close the session, quit and restore the terminal",
    ),
    Binding("ctrl+c", "help_quit", show=False, system=True, id="app.help-quit"),
    Binding(
        "ctrl+p",
        "command_palette",
        "Commands",
        priority=True,
        show=False,
        id="app.command-palette",
        tooltip="Open the command palette",
    ),
    Binding(
        "f1,question_mark",
        "help",
        "Help",
        id="app.help",
        key_display="f1",
        tooltip="Show every key and its binding id",
    ),
    *(tab.binding() for tab in TABS),
    Binding(
        "ctrl+x",
        "interrupt",
        "Interrupt",
        priority=True,
        id="control.interrupt",
        tooltip="Interrupt the character while it replies (interrupt-bot)",
    ),
    Binding(
        "ctrl+r",
        "retry_now",
        "Retry now",
        priority=True,
        id="retry.now",
        tooltip="Run the scheduled retry immediately",
    ),
    Binding(
        "ctrl+r",
        "connect",
        "Connect",
        priority=True,
        id="session.connect",
        tooltip="Connect again once the session has ended (a new session)",
    ),
    Binding(
        "escape",
        "cancel_retry",
        "Cancel",
        priority=True,
        id="retry.cancel",
        tooltip="Give up the retry or the waiting room",
    ),
    Binding(
        "escape",
        "dismiss_blocking",
        "Dismiss",
        id="blocking.dismiss",
        tooltip="Hide the banner (the session stays ended)",
    ),
    Binding(
        "ctrl+s",
        "write_snapshot",
        "Snapshot",
        show=False,
        id="diagnostics.snapshot",
        tooltip="Write a diagnostics snapshot (JSON, no secrets) to the state dir",
    ),
    Binding(
        "f8",
        "toggle_mute",
        "Mute",
        id="audio.mute",
        tooltip="Mute or unmute the microphone",
    ),
    Binding(
        "f9",
        "push_to_talk",
        "Talk",
        show=False,
        id="audio.push-to-talk",
        tooltip="Push-to-talk: open the microphone, press again to end your turn",
    ),
    Binding(
        "t",
        "toggle_token",
        "Token",
        id="diagnostics.reveal-token",
        tooltip="Reveal or hide the LiveKit token",
    ),
]
"""The App's bindings: they work on every screen unless `check_action` says otherwise."""

ERROR_LIST_BINDINGS: list[BindingType] = [
    Binding("up", "cursor(-1)", "Previous", show=False, id="errors.cursor-up"),
    Binding("down", "cursor(1)", "Next", show=False, id="errors.cursor-down"),
    Binding("pageup", "page(-1)", "Page up", show=False, id="errors.page-up"),
    Binding("pagedown", "page(1)", "Page down", show=False, id="errors.page-down"),
    Binding("home", "jump(0)", "First", show=False, id="errors.first"),
    Binding("end", "jump(-1)", "Last", show=False, id="errors.last"),
    Binding(
        "f",
        "cycle_filter",
        "Filter",
        id="errors.filter",
        tooltip="Show one category of errors at a time",
    ),
]

TRANSCRIPT_BINDINGS: list[BindingType] = [
    Binding("up", "scroll_up", "Scroll up", show=False, id="transcript.scroll-up"),
    Binding("down", "scroll_down", "Scroll down", show=False, id="transcript.scroll-down"),
    Binding("pageup", "page_up", "Page up", show=False, id="transcript.page-up"),
    Binding("pagedown", "page_down", "Page down", show=False, id="transcript.page-down"),
    Binding("home", "scroll_home", "Top", show=False, id="transcript.top"),
    Binding("end", "scroll_end", "Bottom", show=False, id="transcript.bottom"),
]

DOCTOR_BINDINGS: list[BindingType] = [
    Binding("r", "rerun", "Run checks", id="doctor.rerun", tooltip="Run every check (again)"),
]

CONTROL_FORM_BINDINGS: list[BindingType] = [
    Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close the form, send nothing"),
]

CONFIRM_BINDINGS: list[BindingType] = [
    Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Yes, do it"),
    Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="No, do nothing"),
]

ESC_DIGIT_KEYS: dict[int, str] = {
    1: "inverted_exclamation_mark",
    2: "trade_mark_sign",
    3: "pound_sign",
    4: "cent_sign",
    5: "infinity",
    6: "section_sign",
    7: "pilcrow_sign",
    8: "bullet",
    9: "ª",
    0: "º",
}
"""What Textual names alt+digit when the terminal sends ESC then the digit (tmux, xterm,
GNOME Terminal, Konsole): it reads those two bytes as macOS's Option+digit characters (¡ ™ £ …).
Terminals speaking the kitty keyboard protocol send `alt+1` itself. These names are not binding
keys (a priority binding on them swallows the character even where it is disabled): the App
turns them into the alt+digit action only in a multi-character room."""

ESC_DIGIT_BY_KEY: dict[str, int] = {key: n for n, key in ESC_DIGIT_KEYS.items()}

ROOM_TARGET_BINDINGS: list[BindingType] = [
    *(
        Binding(
            str(n),
            f"room_target({n})",
            f"Target {n}",
            show=False,
            id=f"room.target-{n}",
            tooltip=f"Talk to the room's character number {n}",
        )
        for n in range(1, 10)
    ),
    Binding(
        "0",
        "room_clear_target",
        "No target",
        show=False,
        id="room.clear-target",
        tooltip="Talk to nobody in the room",
    ),
    *(
        Binding(
            f"alt+{n}",
            f"room_target({n})" if n else "room_clear_target",
            f"Target {n}" if n else "No target",
            show=False,
            priority=True,
            key_display=f"alt+{n}",
            id=f"room.alt-target-{n}" if n else "room.alt-clear-target",
            tooltip=(
                f"Talk to the room's character number {n}, also while typing"
                if n
                else "Talk to nobody in the room, also while typing"
            ),
        )
        for n in (*range(1, 10), 0)
    ),
]
"""A multi-character room's target keys, on the monitor: the digits when no input has focus,
alt+digit everywhere (priority: the message input never sees them)."""

ROOM_TABLE_BINDINGS: list[BindingType] = [
    Binding(
        "m",
        "mute_selected",
        "Mute char",
        id="room.mute-character",
        tooltip="Mute or unmute the selected character's playback (only here)",
    ),
    Binding(
        "plus,equals_sign",
        "louder_selected",
        "Louder",
        show=False,
        id="room.louder",
        tooltip="Play the selected character 3 dB louder (only here; remembered per character)",
    ),
    Binding(
        "minus",
        "quieter_selected",
        "Quieter",
        show=False,
        id="room.quieter",
        tooltip="Play the selected character 3 dB quieter (only here; remembered per character)",
    ),
    Binding(
        "delete",
        "remove_selected",
        "Remove",
        id="room.remove-character",
        tooltip="Remove the selected character from the room (asks for a "
        "replacement when it is the target)",
    ),
]

ROOM_PROMPT_BINDINGS: list[BindingType] = [
    Binding(
        "escape",
        "cancel",
        "Cancel",
        id="room.prompt-cancel",
        tooltip="Close the question, change nothing",
    ),
]

HELP_BINDINGS: list[BindingType] = [
    Binding(
        "escape,question_mark,f1,q", "close", "Close", id="help.close", tooltip="Close this help"
    ),
]

BINDING_SECTIONS: tuple[tuple[str, list[BindingType]], ...] = (
    ("everywhere", APP_BINDINGS),
    ("errors list", ERROR_LIST_BINDINGS),
    ("transcript", TRANSCRIPT_BINDINGS),
    ("Doctor tab", DOCTOR_BINDINGS),
    ("control form", CONTROL_FORM_BINDINGS),
    ("confirmation", CONFIRM_BINDINGS),
    ("room (multi-character)", ROOM_TARGET_BINDINGS),
    ("room table", ROOM_TABLE_BINDINGS),
    ("room question", ROOM_PROMPT_BINDINGS),
    ("this help", HELP_BINDINGS),
)
"""Every binding of every screen and widget, by where it works (the help screen's table)."""


def default_keys(binding_id: str) -> str:
    """The keys a binding is on before any keymap; KeyError for an unknown id."""
    for _where, bindings in BINDING_SECTIONS:
        for binding in bindings:
            if isinstance(binding, Binding) and binding.id == binding_id:
                return binding.key
    raise KeyError(binding_id)


def key_hint(keymap: dict[str, str], binding_id: str) -> str:
    """The first key a binding is on, `keymap` applied, as a user would type it (esc, ?)."""
    return key_label(keymap, binding_id, default_keys(binding_id))
