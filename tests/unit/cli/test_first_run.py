"""A first run with nothing installed: `demo` and `setup` say what is missing and the one command
that fixes it, on screen, and fail fast."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from convai_tui.local.sfu import binary as livekit_binary


def _clean_env(tmp_path: Path, path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVAI_", "LIVEKIT_", "XDG_"))}
    (tmp_path / "cache").mkdir(exist_ok=True)
    env.update(
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PATH=path,
    )
    return env


def _cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "convai_tui", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_without_livekit_server_fails_fast_naming_setup(tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    started = time.monotonic()
    result = _cli(_clean_env(tmp_path, str(empty)), "demo")
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert elapsed < 15, elapsed
    assert "starting the local stand-in" in result.stderr  # the progress line
    assert "convai-tui setup" in result.stderr
    # The cause, from the stand-in's log, is on screen, not only in the file.
    assert "livekit-server not found" in result.stderr
    assert str(tmp_path / "cache" / "convai-tui" / "livekit-server") in result.stderr
    assert "Traceback" not in result.stderr


def test_setup_without_go_says_what_it_needs(tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    result = _cli(_clean_env(tmp_path, str(empty)), "setup")
    assert result.returncode == 1
    assert result.stdout == ""
    for needed in (
        "Go",
        "convai-tui setup",
        "LIVEKIT_SERVER_BIN",
        "LIVEKIT_URL",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
    ):
        assert needed in result.stderr, needed
    assert not (
        tmp_path / "cache" / "convai-tui" / "livekit-server" / "v1.13.5" / "server"
    ).exists()


def test_setup_without_go_is_fine_with_an_external_livekit(tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    env = _clean_env(tmp_path, str(empty))
    env.update(
        LIVEKIT_URL="wss://example.livekit.cloud", LIVEKIT_API_KEY="k", LIVEKIT_API_SECRET="s" * 32
    )
    result = _cli(env, "setup")
    assert result.returncode == 0
    assert "external LiveKit is configured (wss://example.livekit.cloud)" in result.stderr
    assert "s" * 32 not in result.stderr


def test_setup_reports_a_found_binary_on_stdout(tmp_path: Path) -> None:
    fake = tmp_path / "livekit-server"
    fake.write_text("#!/bin/sh\necho 'livekit-server version 1.13.5'\n")
    fake.chmod(0o755)
    env = _clean_env(tmp_path, str(tmp_path))  # found on PATH
    result = _cli(env, "setup")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(fake)
    assert "livekit-server 1.13.5 at" in result.stderr


def test_setup_refuses_a_bad_livekit_server_bin(tmp_path: Path) -> None:
    env = _clean_env(tmp_path, "/usr/local/go/bin:/usr/bin:/bin")
    env["LIVEKIT_SERVER_BIN"] = str(tmp_path / "nowhere")
    result = _cli(env, "setup")
    assert result.returncode == 1
    assert f"LIVEKIT_SERVER_BIN={tmp_path / 'nowhere'} is not an executable file" in result.stderr
    assert "convai-tui setup" in result.stderr


def test_make_setup_is_named_only_from_a_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LIVEKIT_SERVER_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(livekit_binary, "livekit_server_cache_path", lambda: tmp_path / "server")
    monkeypatch.setattr(livekit_binary, "running_from_checkout", lambda: False)
    with pytest.raises(livekit_binary.LiveKitServerNotFound) as error:
        livekit_binary.find_livekit_server()
    assert "convai-tui setup" in str(error.value)
    assert "make setup" not in str(error.value)


def test_this_source_tree_counts_as_a_checkout() -> None:
    assert livekit_binary.running_from_checkout()


def test_setup_notes_a_found_binary_of_another_version(tmp_path: Path) -> None:
    fake = tmp_path / "livekit-server"
    fake.write_text("#!/bin/sh\necho 'livekit-server version 1.9.0'\n")
    fake.chmod(0o755)
    result = _cli(_clean_env(tmp_path, str(tmp_path)), "setup")
    assert result.returncode == 0
    assert "livekit-server 1.9.0 at" in result.stderr
    assert "the stand-in is tested with v1.13.5" in result.stderr
