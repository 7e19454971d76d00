"""The top bar: state badge with time in state, character, TTS on/off, audio meters and mute
badge."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from convai_tui.core.api.events import AudioLevels
from convai_tui.core.api.states import SessionState
from convai_tui.ui.formatting import STATE_LABELS, duration, level_bar
from convai_tui.ui.model.reducer import MonitorModel


def update_text(widget: Static, previous: str, text: str) -> None:
    """`Static.update` re-lays out the whole screen by default; a text of unchanged width
    (a clock or meter on the 10 Hz tick) needs no layout pass."""
    widget.update(text, layout=len(text) != len(previous))


class StateBadge(Static):
    """The session state, coloured by state (CSS class `-<state>`), with the time spent in it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.state: SessionState = SessionState.DISCONNECTED
        self._text = ""

    def show(self, state: SessionState, since: float | None, now: float) -> None:
        if state is not self.state:
            self.remove_class(f"-{self.state.value}")
            self.state = state
        self.add_class(f"-{state.value}")
        elapsed = f" {duration(now - since)}" if since is not None else ""
        text = f" ● {STATE_LABELS[state]}{elapsed} "
        if text != self._text:
            previous, self._text = self._text, text
            update_text(self, previous, text)


class AudioMeters(Static):
    """Mic and speaker levels plus a mute badge, sampled on a timer; "audio off" until levels."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("audio off", id=id)
        self.levels: AudioLevels | None = None
        self._text = ""

    def show(
        self,
        levels: AudioLevels | None,
        warning: str | None = None,
        *,
        no_mic: bool = False,
        no_speaker: bool = False,
    ) -> None:
        """``warning``: an audio warning in force (speech being dropped), flagged until cleared;
        ``no_mic``/``no_speaker``: the device is missing (text only)."""
        self.levels = levels
        if no_mic and (no_speaker or levels is None):
            text = "text only"
        elif no_mic and levels is not None:
            text = f"text only · spk {level_bar(levels.speaker_dbfs, 6)}"
        elif no_speaker and levels is not None:
            text = f"mic {level_bar(levels.mic_dbfs, 6)} · no speaker"
        elif levels is None:
            text = "audio off"
        else:
            mute = " MUTED" if levels.muted else ""
            text = (
                f"mic {level_bar(levels.mic_dbfs, 6)} spk {level_bar(levels.speaker_dbfs, 6)}{mute}"
            )
        if warning is not None:
            text += " ⚠ speech dropped"
        if warning != self.tooltip:  # setting it, even unchanged, has the screen look it up
            self.tooltip = warning
        if text != self._text:
            previous, self._text = self._text, text
            self.set_class((levels is not None and levels.muted) or warning is not None, "-muted")
            update_text(self, previous, text)


class StatusBar(Horizontal):
    """State badge, character name, TTS (and muted STT) state and audio meters on one row."""

    def compose(self) -> ComposeResult:
        yield StateBadge(id="state-badge")
        yield Static("", id="character-name")
        yield Static("TTS on", id="tts-badge")
        yield Static("STT off", id="stt-badge")
        yield AudioMeters(id="audio-meters")

    def show(self, model: MonitorModel, now: float) -> None:
        self.query_one(StateBadge).show(model.state, model.state_since, now)
        name = model.display_name
        if model.character_name and model.character_id:
            name = f"{model.character_name} ({model.character_id})"
        if model.room.active:  # a multi-character room: who the input goes to
            name = f"room of {len(model.room.members)} · {model.room.target_text()}"
        name_label = self.query_one("#character-name", Static)
        if str(name_label.content) != name:
            name_label.update(name)
        tts = self.query_one("#tts-badge", Static)
        label = "TTS on" if model.tts_enabled else "TTS off"
        if str(tts.content) != label:
            tts.update(label)
            tts.set_class(not model.tts_enabled, "-off")
        self.query_one("#stt-badge", Static).display = model.stt_muted


def ids_text(model: MonitorModel) -> Text:
    """session_id · character_session_id · room, dim, with dashes for the unknown; wraps onto
    a second row rather than cutting a value (ids are there to be copied)."""
    text = Text(overflow="fold")
    for label, value in (
        ("session", model.session_id),
        ("char-session", model.character_session_id),
        ("room", model.room_name),
    ):
        text.append(f"{label} ", style="dim")
        text.append(value or "—")
        text.append("  ")
    text.rstrip()
    return text
