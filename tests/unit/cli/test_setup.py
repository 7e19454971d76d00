"""`convai-tui setup` on a machine without Go says so, and never claims to be building."""

from __future__ import annotations

from pathlib import Path

import pytest

from convai_tui.cli import setup


def test_without_go_it_says_go_is_missing_and_builds_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LIVEKIT_SERVER_BIN", raising=False)
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no go, no livekit-server
    assert setup.run_setup() == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Go is not installed" in captured.err
    assert "go install" not in captured.err.split("Go is not installed")[0]
    assert "building" not in captured.err
