"""Multi-character settings checked before any request, and the per-machine end-user id."""

from pathlib import Path

import pytest

from convai_tui.core.errors.error import CATALOGUE, ConvaiError, ErrorStage
from convai_tui.core.settings.multi_config import (
    CharacterSpec,
    JoinSettings,
    default_end_user_id,
    parse_character_spec,
    parse_character_specs,
    validate_characters,
    validate_end_user_id,
    validate_join,
)

SESSION = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"


def _code(exc: pytest.ExceptionInfo[ConvaiError]) -> str:
    return exc.value.error.code


def test_character_spec_with_and_without_a_session_id() -> None:
    assert parse_character_spec("abc") == CharacterSpec("abc")
    assert parse_character_spec(f" abc : {SESSION} ") == CharacterSpec("abc", SESSION)
    specs = parse_character_specs(["a", "b", "a"])
    assert [s.character_id for s in specs] == ["a", "b", "a"]  # a clone keeps its place


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ("", "config.character_id_empty"),
        (f":{SESSION}", "config.character_id_empty"),
        ("abc:", "config.invalid"),
    ],
)
def test_bad_character_specs_are_named_config_errors(spec: str, code: str) -> None:
    with pytest.raises(ConvaiError) as exc:
        parse_character_spec(spec)
    assert _code(exc) == code


def test_more_than_fifty_characters_is_refused_before_any_request() -> None:
    validate_characters([CharacterSpec("a")] * 50)
    with pytest.raises(ConvaiError) as exc:
        validate_characters([CharacterSpec("a")] * 51)
    assert _code(exc) == "config.too_many_characters"
    assert "51" in exc.value.error.message


def test_an_empty_character_id_is_refused() -> None:
    with pytest.raises(ConvaiError) as exc:
        validate_characters([CharacterSpec("a"), CharacterSpec("  ")])
    assert _code(exc) == "config.character_id_empty"
    assert "Character 2 of 2" in exc.value.error.message


def test_duplicate_character_session_ids_are_refused_but_clones_are_not() -> None:
    validate_characters([CharacterSpec("a"), CharacterSpec("a"), CharacterSpec("b", SESSION)])
    with pytest.raises(ConvaiError) as exc:
        validate_characters([CharacterSpec("a", SESSION), CharacterSpec("b", SESSION.upper())])
    assert _code(exc) == "config.duplicate_character_session_id"


@pytest.mark.parametrize(
    "join", [JoinSettings(), JoinSettings("room", "key"), JoinSettings("  ", None)]
)
def test_join_needs_exactly_one_locator(join: JoinSettings) -> None:
    with pytest.raises(ConvaiError) as exc:
        validate_join(join)
    assert _code(exc) == "config.join_locator_invalid"


def test_join_with_one_locator_passes_and_refuses_characters() -> None:
    validate_join(JoinSettings(room_session_id="room"))
    validate_join(JoinSettings(shared_session_key="key"))
    with pytest.raises(ConvaiError) as exc:
        validate_join(JoinSettings(shared_session_key="key"), [CharacterSpec("a")])
    assert _code(exc) == "config.join_with_characters"


def test_missing_end_user_id_is_refused() -> None:
    assert validate_end_user_id(" me ") == "me"
    for value in (None, "", "   "):
        with pytest.raises(ConvaiError) as exc:
            validate_end_user_id(value)
        assert _code(exc) == "config.end_user_id_missing"


@pytest.mark.parametrize(
    "code",
    [
        "config.too_many_characters",
        "config.character_id_empty",
        "config.duplicate_character_session_id",
        "config.join_locator_invalid",
        "config.join_with_characters",
        "config.end_user_id_missing",
    ],
)
def test_each_room_config_error_is_catalogued_with_cause_and_fix(code: str) -> None:
    entry = CATALOGUE[code]
    assert entry.cause and entry.fix and entry.stage is ErrorStage.CONFIGURATION


def test_default_end_user_id_is_stable_per_machine_not_per_run(tmp_path: Path) -> None:
    machine = tmp_path / "machine-id"
    machine.write_text("0123456789abcdef\n")
    state = tmp_path / "state"
    first = default_end_user_id(state, machine_id_file=machine)
    assert first.startswith("convai-tui-") and "0123456789abcdef" not in first
    assert default_end_user_id(state, machine_id_file=machine) == first
    # A wiped state dir on the same machine gets the same id back.
    (state / "end_user_id").unlink()
    assert default_end_user_id(state, machine_id_file=machine) == first
    other = tmp_path / "other-machine-id"
    other.write_text("fedcba9876543210\n")
    assert default_end_user_id(tmp_path / "state2", machine_id_file=other) != first


def test_default_end_user_id_without_a_machine_id_is_random_once_then_kept(tmp_path: Path) -> None:
    missing = tmp_path / "no-machine-id"
    first = default_end_user_id(tmp_path / "a", machine_id_file=missing)
    assert default_end_user_id(tmp_path / "a", machine_id_file=missing) == first
    assert default_end_user_id(tmp_path / "b", machine_id_file=missing) != first
    assert (tmp_path / "a" / "end_user_id").stat().st_mode & 0o077 == 0
