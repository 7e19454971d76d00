"""The last character session id per character id, and the farewell printed on quit."""

from __future__ import annotations

from pathlib import Path

from convai_tui.cli.resume import farewell, last_session, remember_session, resume_command
from convai_tui.config.settings import Settings


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


def test_resume_is_a_flag_off_by_default_and_picks_the_remembered_session(tmp_path: Path) -> None:
    from convai_tui.cli.parser import build_parser, setting_values
    from convai_tui.cli.resume import resumed
    from convai_tui.config import load_settings

    def settings_of(*argv: str) -> Settings:
        args = build_parser().parse_args(["run", "--character-id", "char-a", *argv])
        return load_settings(setting_values(args), environ={}, path=tmp_path / "none.toml")

    remember_session(tmp_path, "char-a", "cs-7")
    fresh = settings_of()
    assert fresh.resume is False
    assert resumed(fresh, tmp_path).character_session_id is None
    assert resumed(settings_of("--resume"), tmp_path).character_session_id == "cs-7"
    given = settings_of("--resume", "--character-session-id", "cs-given")
    assert resumed(given, tmp_path).character_session_id == "cs-given"
    from_env = load_settings(
        {"character_id": "char-a"}, environ={"CONVAI_RESUME": "true"}, path=tmp_path / "none.toml"
    )
    assert resumed(from_env, tmp_path).character_session_id == "cs-7"
