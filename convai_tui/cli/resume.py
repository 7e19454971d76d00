"""The last conversation with each character, kept in the state dir as Convai's SDKs keep it
(Unity stores one character session id per character id), and what `run` prints on quit: where
the session log is, the character session id, and the command that continues the conversation.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

from convai_tui.config.settings import Settings

SESSIONS_FILE = "character_sessions.json"


def _read(state: Path) -> dict[str, str]:
    try:
        data = json.loads((state / SESSIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str) and v}


def last_session(state: Path, character_id: str) -> str | None:
    """The character session id the last conversation with `character_id` had, if any."""
    return _read(state).get(character_id)


def resumed(settings: Settings, state: Path) -> Settings:
    """`settings` with the remembered character session id when `resume` is on and none was
    given; a given `--character-session-id` always wins."""
    if not settings.resume or settings.character_session_id:
        return settings
    last = last_session(state, settings.character_id)
    return dataclasses.replace(settings, character_session_id=last) if last else settings


def remember_session(state: Path, character_id: str, character_session_id: str) -> None:
    """Keep `character_session_id` as the one to resume for `character_id` (best effort: a
    state dir that cannot be written only loses the memory)."""
    sessions = _read(state)
    sessions[character_id] = character_session_id
    try:
        state.mkdir(parents=True, exist_ok=True)
        tmp = state / f"{SESSIONS_FILE}.tmp"
        tmp.write_text(json.dumps(sessions, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(state / SESSIONS_FILE)
    except OSError:
        pass


def resume_command(command: str, character_id: str, character_session_id: str) -> str:
    """The exact command line that continues this conversation (`run` or `demo`)."""
    words = ["convai-tui", command]
    if command == "run":
        words += ["--character-id", character_id]
    words += ["--character-session-id", character_session_id]
    return shlex.join(words)


def farewell(
    log_path: Path, character_id: str, character_session_id: str | None, command: str
) -> str:
    """What the TUI prints once the terminal is restored."""
    lines = [f"session log: {log_path}"]
    if character_session_id:
        lines.append(f"character_session_id: {character_session_id}")
        lines.append(f"resume: {resume_command(command, character_id, character_session_id)}")
    else:
        lines.append("character_session_id: none (the session never connected)")
    return "\n".join(lines)
