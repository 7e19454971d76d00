"""The last character session id per character id, and the farewell printed on quit."""

from __future__ import annotations

from pathlib import Path

from convai_tui.cli.resume import farewell, last_session, remember_session, resume_command


def test_the_last_session_is_remembered_per_character_id(tmp_path: Path) -> None:
    assert last_session(tmp_path, "char-a") is None
    remember_session(tmp_path, "char-a", "cs-1")
    remember_session(tmp_path, "char-b", "cs-2")
    remember_session(tmp_path, "char-a", "cs-3")
    assert last_session(tmp_path, "char-a") == "cs-3"
    assert last_session(tmp_path, "char-b") == "cs-2"


def test_a_damaged_file_is_no_memory(tmp_path: Path) -> None:
    (tmp_path / "character_sessions.json").write_text("[not json", encoding="utf-8")
    assert last_session(tmp_path, "char-a") is None
    remember_session(tmp_path, "char-a", "cs-1")
    assert last_session(tmp_path, "char-a") == "cs-1"


def test_the_farewell_names_the_log_the_session_and_the_exact_command() -> None:
    text = farewell(Path("/s/log.jsonl"), "char a", "cs-9", "run")
    assert text.splitlines() == [
        "session log: /s/log.jsonl",
        "character_session_id: cs-9",
        "resume: convai-tui run --character-id 'char a' --character-session-id cs-9",
    ]
    assert resume_command("demo", "x", "cs-1") == "convai-tui demo --character-session-id cs-1"
    assert "never connected" in farewell(Path("/l"), "c", None, "run")
