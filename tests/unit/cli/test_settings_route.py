"""The one settings route: flags → Settings (env and file merged) → SessionSettings. Flags are
generated from the Settings fields, values converted from the fields' type hints, and the
flag-only fields (rooms, controls) never become env vars or config keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from convai_tui.cli.parser import build_parser, setting_values
from convai_tui.cli.room_flags import apply_room_arguments
from convai_tui.config import (
    ConfigError,
    Settings,
    load_settings,
    parse_setting,
    setting_flags,
    setting_names,
    shown_settings,
)
from convai_tui.core.rtvi import controls
from convai_tui.headless.runner import control_requests


def _settings(argv: list[str], tmp_path: Path, **environ: str) -> Settings:
    args = build_parser().parse_args(["run", *argv])
    return load_settings(setting_values(args), environ=environ, path=tmp_path / "none.toml")


def test_every_setting_flag_lands_in_its_field(tmp_path: Path) -> None:
    s = _settings(
        [
            "--connection-timeout", "7", "--no-waiting-room", "--max-reconnect-attempts", "2",
            "--character", "a", "--character", "b:s", "--no-emotion", "--thinking-mode",
            "--vad-params", '{"confidence": 0.5}', "--no-audio", "--no-aec",
            "--join-key", "porch", "--max-participants", "4", "--target", "2",
        ],
        tmp_path,
    )  # fmt: skip
    assert (s.connection_timeout, s.waiting_room, s.max_reconnect_attempts) == (7.0, False, 2)
    assert s.characters == ["a", "b:s"] and (s.emotion, s.thinking_mode) == (False, True)
    assert s.vad_params == {"confidence": 0.5} and (s.audio, s.aec) == (False, False)
    assert (s.join_key, s.max_participants, s.target) == ("porch", 4, "2")


def test_flags_not_given_leave_env_and_file_in_charge(tmp_path: Path) -> None:
    s = _settings([], tmp_path, CONVAI_EMOTION="off", CONVAI_WAITING_ROOM_MAX_WAIT="")
    assert s.emotion is False and s.waiting_room_max_wait is None
    assert _settings(["--emotion"], tmp_path, CONVAI_EMOTION="off").emotion is True


def test_flag_only_settings_are_no_env_var_and_no_config_key(tmp_path: Path) -> None:
    flag_only = {"join", "join_key", "shared_session_key", "max_participants", "target"}
    flag_only |= {"trigger", "context", "template_keys", "tts", "stt"}
    assert flag_only.isdisjoint(setting_names())
    assert flag_only.isdisjoint(shown_settings(Settings()))
    assert _settings([], tmp_path, CONVAI_JOIN="r1", CONVAI_TTS="off").join is None
    with pytest.raises(ConfigError, match="unknown setting 'join'"):
        parse_setting("join", "r1", "config set join")


def test_conversion_follows_the_type_hints(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"--max-participants: max_participants = 'x' is not a valid int \| None"
    ):
        load_settings({"max_participants": "x"}, environ={}, path=tmp_path / "none.toml")
    assert parse_setting("characters", "a, b,,", "t") == ["a", "b"]
    assert parse_setting("keymap", {"retry.now": 5}, "t") == {"retry.now": "5"}
    assert parse_setting("scene_description", '[{"name": "n"}]', "t") == [{"name": "n"}]
    with pytest.raises(ConfigError, match="is not a valid list"):
        parse_setting("scene_description", "[1]", "t")


def test_control_flags_reach_headless_as_settings(tmp_path: Path) -> None:
    s = _settings(
        ["--trigger", "wave:hi", "--template-key", "a=1", "--tts", "off", "--stt", "on"], tmp_path
    )
    assert control_requests(s) == [
        controls.parse_trigger("wave:hi"),
        controls.template_keys({"a": "1"}),
        controls.tts(False),
        controls.stt(muted=False),
    ]
    assert control_requests(_settings([], tmp_path)) == []


def test_a_bad_control_flag_is_a_usage_error_with_its_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--template-key", "novalue"])
    assert (
        "argument --template-key: Template keys are written name=value" in capsys.readouterr().err
    )


def test_room_flags_become_the_room_request(tmp_path: Path) -> None:
    s = _settings(["--character", "a", "--character", "b", "--shared-session-key", "k"], tmp_path)
    session = apply_room_arguments(s.session_settings(), s, tmp_path)
    assert session.room is not None and session.room.shared_session_key == "k"
    assert [spec.character_id for spec in session.room.characters] == ["a", "b"]


def test_help_lists_each_setting_flag_once(capsys: pytest.CaptureFixture[str]) -> None:
    options = [flag.option for _, flag in setting_flags()]
    assert len(options) == len(set(options))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    usage = capsys.readouterr().out
    assert all(option in usage for option in options)
