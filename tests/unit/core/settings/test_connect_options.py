"""Issue #16 item 7: connect options from flags and the config file reach the /connect body."""

from __future__ import annotations

from pathlib import Path

import pytest

from convai_tui.cli.main import _settings_from
from convai_tui.cli.parser import build_parser
from convai_tui.config import ConfigError, load_settings
from convai_tui.core.connect.connect_api import ConnectRequest
from convai_tui.core.settings.connect_options import EMOTION_CONFIG, ConnectOptions
from convai_tui.core.settings.session_settings import SessionSettings, validate_settings


def test_emotion_is_asked_for_by_default_and_unset_options_are_not_sent() -> None:
    body = ConnectRequest(character_id="c").body()
    assert body["emotion_config"] == EMOTION_CONFIG
    for key in (
        "action_config",
        "scene_description",
        "narrative_template_keys",
        "dynamic_info",
        "vad_params",
        "turn_detection_config",
        "thinking_mode",
        "debug",
    ):
        assert key not in body
    off = ConnectRequest(character_id="c", options=ConnectOptions(emotion=False)).body()
    assert "emotion_config" not in off


def test_flags_reach_the_connect_body(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONVAI_CONFIG", str(tmp_path / "none.toml"))
    args = build_parser().parse_args(
        [
            "run",
            "--no-emotion",
            "--action-config",
            '{"actions": ["wave"]}',
            "--scene-description",
            '[{"name": "torch", "description": "on the wall"}]',
            "--narrative-template-keys",
            '{"player": "Sam"}',
            "--dynamic-info",
            "It rains.",
            "--end-user-id",
            "u1",
            "--end-user-metadata",
            '{"name": "Sam"}',
            "--vad-params",
            '{"stop_secs": 0.8}',
            "--turn-detection-config",
            '{"type": "smart_turn"}',
            "--llm-provider",
            "gemini-live",
            "--thinking-mode",
            "--server-debug",
        ]
    )
    settings = _settings_from(args).session_settings()
    body = ConnectRequest(
        character_id="c", end_user_id="u1", options=settings.connect_options
    ).body()
    assert "emotion_config" not in body
    assert body["action_config"] == {"actions": ["wave"]}
    assert body["scene_description"] == [{"name": "torch", "description": "on the wall"}]
    assert body["narrative_template_keys"] == {"player": "Sam"}
    assert body["dynamic_info"] == {"text": "It rains."}
    assert body["end_user_metadata"] == {"name": "Sam"}
    assert body["vad_params"] == {"stop_secs": 0.8}
    assert body["turn_detection_config"] == {"type": "smart_turn"}
    assert body["llm_provider"] == "gemini-live" and body["thinking_mode"] is True
    assert body["debug"] is True


def test_the_config_file_takes_tables(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'emotion = false\nllm_provider = "dynamic"\n'
        '[action_config]\nactions = ["wave", "jump"]\n'
        '[[scene_description]]\nname = "door"\ndescription = "locked"\n'
    )
    settings = load_settings(environ={}, path=path)
    options = settings.session_settings().connect_options
    assert options.action_config == {"actions": ["wave", "jump"]}
    assert options.scene_description == [{"name": "door", "description": "locked"}]
    assert options.emotion is False


def test_bad_options_are_named_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="action_config"):
        load_settings({"action_config": "[not json"}, environ={}, path=tmp_path / "x.toml")
    bad = SessionSettings(
        connect_url="https://x.example",
        api_key="k",
        character_id="c",
        connect_options=ConnectOptions(llm_provider="gpt-9"),
    )
    error = validate_settings(bad)
    assert error is not None and error.code == "config.invalid" and "gpt-9" in error.message
