"""Per-character playback volumes in the state dir: round trip, steps within bounds, and a
damaged file read as no volumes."""

from __future__ import annotations

from pathlib import Path

from convai_tui.config.volumes import (
    MAX_DB,
    MIN_DB,
    VOLUMES_FILE,
    load_volumes,
    save_volumes,
    stepped,
)


def test_round_trip_keeps_what_differs_from_unity(tmp_path: Path) -> None:
    save_volumes(tmp_path / "state", {"demo-bo": -6.0, "demo-character": 0.0})
    assert load_volumes(tmp_path / "state") == {"demo-bo": -6.0}


def test_steps_are_3_db_and_bounded() -> None:
    assert stepped(0.0, 1) == 3.0 and stepped(0.0, -2) == -6.0
    assert stepped(MAX_DB, 1) == MAX_DB and stepped(MIN_DB, -1) == MIN_DB


def test_missing_or_damaged_file_is_empty(tmp_path: Path) -> None:
    assert load_volumes(tmp_path) == {}
    (tmp_path / VOLUMES_FILE).write_text("{not json")
    assert load_volumes(tmp_path) == {}
    (tmp_path / VOLUMES_FILE).write_text('{"a": "loud", "b": true, "c": 99}')
    assert load_volumes(tmp_path) == {"c": MAX_DB}
