"""How the multi-character flags and config become settings and `/connect` bodies (issue 12):
one `--character` is exactly today's single-character request; two or more, or a join, make a
room request whose checks run before any request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from convai_tui.cli.room_flags import apply_room_arguments, demo_cast
from convai_tui.config import Settings, load_settings
from convai_tui.core.connect.connect_api import ConnectRequest
from convai_tui.core.errors.error import ConvaiError
from convai_tui.core.settings.multi_config import CharacterSpec, JoinSettings
from convai_tui.core.settings.room_request import RoomRequest
from convai_tui.core.settings.session_settings import SessionSettings, validate_settings

BASE = SessionSettings(connect_url="https://live.convai.com", api_key="k", character_id="")


def flags(characters: list[str], **kw: Any) -> Settings:
    """The settings the room flags give (what the cli builds from them)."""
    return Settings(characters=characters, **kw)


def test_one_character_is_the_single_character_path(tmp_path: Path) -> None:
    settings = apply_room_arguments(BASE, flags(["abc:sess-1"]), tmp_path)
    assert settings.room is None and settings.end_user_id is None
    assert (settings.character_id, settings.character_session_id) == ("abc", "sess-1")
    single = ConnectRequest(character_id="abc", character_session_id="sess-1").body()
    assert (
        ConnectRequest(character_id="abc", character_session_id="sess-1", room=settings.room).body()
        == single
    )
    assert apply_room_arguments(BASE, flags([]), tmp_path) is BASE


def test_two_characters_make_a_room_with_a_stable_end_user(tmp_path: Path) -> None:
    settings = apply_room_arguments(
        BASE, flags(["a", "b", "a"], shared_session_key="k1", max_participants=3), tmp_path
    )
    assert settings.room == RoomRequest(
        characters=(CharacterSpec("a"), CharacterSpec("b"), CharacterSpec("a")),
        shared_session_key="k1",
        max_participants=3,
    )
    assert settings.character_id == "a" and settings.end_user_id
    again = apply_room_arguments(BASE, flags(["a", "b"]), tmp_path)
    assert again.end_user_id == settings.end_user_id  # per machine, not per run
    body = ConnectRequest(
        character_id="a", end_user_id=settings.end_user_id, room=settings.room
    ).body()
    assert body["characters"] == [
        {"character_id": "a"},
        {"character_id": "b"},
        {"character_id": "a"},
    ]
    assert "character_id" not in body and body["mode"] == "create"
    assert (body["shared_session_key"], body["max_num_participants"]) == ("k1", 3)


def test_a_join_needs_no_character_and_sends_one_locator(tmp_path: Path) -> None:
    settings = apply_room_arguments(BASE, flags([], join_key="porch"), tmp_path)
    assert settings.room is not None and settings.room.join == JoinSettings(None, "porch")
    assert validate_settings(settings) is None  # no character id needed to join
    body = ConnectRequest(character_id="", end_user_id="u", room=settings.room).body()
    assert (body["mode"], body["shared_session_key"]) == ("join", "porch")
    assert "characters" not in body and "character_id" not in body


@pytest.mark.parametrize(
    ("characters", "join", "code"),
    [
        (["a:s1", "b:S1"], None, "config.duplicate_character_session_id"),
        (["a"] * 51, None, "config.too_many_characters"),
        ([], JoinSettings("room-1", "key"), "config.join_locator_invalid"),
    ],
)
def test_bad_rooms_fail_before_any_request(
    characters: list[str], join: JoinSettings | None, code: str
) -> None:
    room = RoomRequest(
        characters=tuple(CharacterSpec(*c.split(":")) for c in characters), join=join
    )
    with pytest.raises(ConvaiError) as caught:
        ConnectRequest(character_id="a", end_user_id="u", room=room).body()
    assert caught.value.error.code == code


def test_an_empty_character_flag_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(ConvaiError) as caught:
        apply_room_arguments(BASE, flags([":sess"]), tmp_path)
    assert caught.value.error.code == "config.character_id_empty"


def test_characters_from_the_config_file_and_env(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('characters = ["a", "b:s2"]\n')
    assert load_settings({}, environ={}, path=path).characters == ["a", "b:s2"]
    env = {"CONVAI_CHARACTERS": "x, y"}
    assert load_settings({}, environ=env, path=tmp_path / "none.toml").characters == ["x", "y"]
    cli = {"characters": ["z"]}
    assert load_settings(cli, environ=env, path=path).characters == ["z"]


def test_demo_cast() -> None:
    assert demo_cast(1).characters == []
    assert demo_cast(1).standin_args == ["--actions-when-asked"]
    cast = demo_cast(3)
    assert cast.characters == ["demo-character", "demo-bo", "demo-cy"]
    assert cast.standin_args == [
        "--actions-when-asked",
        "--characters",
        "demo-character=Ada,demo-bo=Bo,demo-cy=Cy",
    ]
