"""`config init | set | unset`: every refusal writes nothing and says why; what is written is
0600 and loads back."""

from __future__ import annotations

import os
import pty
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from convai_tui.cli.config_commands import (
    EXIT_CHECK_FAILED,
    EXIT_REFUSED,
    Prompts,
    run_config_command,
)
from convai_tui.cli.parser import build_parser
from convai_tui.config import load_settings

KEY = "sk-test-key-0123456789"


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "conf" / "config.toml"
    monkeypatch.setenv("CONVAI_CONFIG", str(path))
    return path


def _answers(*answers: str) -> Prompts:
    queue: Iterator[str] = iter(answers)
    return Prompts(ask=lambda _prompt: next(queue), ask_secret=lambda _prompt: next(queue))


def _config(*argv: str, prompts: Prompts | None = None) -> int:
    return run_config_command(build_parser().parse_args(["config", *argv]), prompts)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- init ---------------------------------------------------------------------------------------


def test_init_writes_a_0600_file_that_loads_back(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _config("init", "--no-check", prompts=_answers(KEY, "char-1")) == 0
    assert _mode(config_file) == 0o600
    settings = load_settings(environ={}, path=config_file)
    assert (settings.api_key, settings.character_id) == (KEY, "char-1")
    out = capsys.readouterr()
    assert f"wrote {config_file} (mode 0600)" in out.out
    assert KEY not in out.out + out.err


def test_init_driven_by_stdin(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    env["CONVAI_CONFIG"] = str(path)
    result = subprocess.run(
        [sys.executable, "-m", "convai_tui", "config", "init", "--no-check"],
        input=f"{KEY}\nchar-2\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _mode(path) == 0o600
    assert load_settings(environ={}, path=path).character_id == "char-2"
    assert KEY not in result.stdout + result.stderr


def test_init_hides_the_key_on_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVAI_")}
    env["CONVAI_CONFIG"] = str(path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty, so getpass turns echo off
        os.execve(
            sys.executable,
            [sys.executable, "-m", "convai_tui", "config", "init", "--no-check"],
            env,
        )
    screen = b""

    def read_until(marker: bytes) -> None:
        nonlocal screen
        deadline = time.monotonic() + 60
        while marker not in screen and time.monotonic() < deadline:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        assert marker in screen, screen

    try:
        read_until(b"input hidden")
        os.write(fd, f"{KEY}\n".encode())
        read_until(b"Character id")
        os.write(fd, b"char-3\n")
        read_until(b"mode 0600")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert KEY.encode() not in screen  # not echoed
    assert b"char-3" in screen  # the character id is
    assert load_settings(environ={}, path=path).api_key == KEY


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (("", "char-1"), "config.api_key_missing"),
        ((KEY, "  "), "config.character_id_missing"),
    ],
)
def test_init_refuses_empty_answers(
    config_file: Path, capsys: pytest.CaptureFixture[str], answers: tuple[str, str], reason: str
) -> None:
    assert _config("init", "--no-check", prompts=_answers(*answers)) == EXIT_REFUSED
    assert reason in capsys.readouterr().err
    assert not config_file.exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com", "config.insecure_url"),
        ("ftp://example.com", "config.invalid"),
    ],
)
def test_init_refuses_a_bad_connect_url(
    config_file: Path, capsys: pytest.CaptureFixture[str], url: str, reason: str
) -> None:
    code = _config("init", "--no-check", "--connect-url", url, prompts=_answers(KEY, "c"))
    assert code == EXIT_REFUSED
    assert reason in capsys.readouterr().err
    assert not config_file.exists()


def test_init_never_overwrites_without_a_yes(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file.parent.mkdir()
    config_file.write_text('api_key = "old"\n')
    assert _config("init", "--no-check", prompts=_answers("", KEY, "c")) == EXIT_REFUSED
    assert config_file.read_text() == 'api_key = "old"\n'
    assert f"left {config_file} unchanged" in capsys.readouterr().err


def test_init_with_a_yes_keeps_other_settings_and_tightens_the_mode(config_file: Path) -> None:
    config_file.parent.mkdir()
    config_file.write_text('# mine\napi_key = "old"\nlog_level = "debug"\n')
    config_file.chmod(0o644)
    assert _config("init", "--no-check", prompts=_answers("y", KEY, "c")) == 0
    assert _mode(config_file) == 0o600
    text = config_file.read_text()
    assert "# mine" in text and 'log_level = "debug"' in text and "old" not in text


def test_init_refuses_a_broken_existing_file(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file.parent.mkdir()
    config_file.write_text("api_key = \n")
    assert _config("init", "--no-check", prompts=_answers("y", KEY, "c")) == EXIT_REFUSED
    assert "fix or remove it first" in capsys.readouterr().err
    assert config_file.read_text() == "api_key = \n"


def test_init_check_failure_writes_nothing(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    assert _config("init", "--connect-url", url, prompts=_answers(KEY, "c")) == EXIT_CHECK_FAILED
    err = capsys.readouterr().err
    assert "check failed: connection.network_error" in err
    assert "--no-check" in err
    assert KEY not in err
    assert not config_file.exists()


# --- set / unset --------------------------------------------------------------------------------


def test_set_and_unset_keep_comments_and_0600(config_file: Path) -> None:
    config_file.parent.mkdir()
    config_file.write_text('# my settings\ncharacter_id = "c"\n')
    config_file.chmod(0o644)
    assert _config("set", "connection_timeout", "45") == 0
    assert _config("set", "waiting_room", "off") == 0
    assert _mode(config_file) == 0o600
    settings = load_settings(environ={}, path=config_file)
    assert (settings.connection_timeout, settings.waiting_room) == (45.0, False)
    assert config_file.read_text().startswith("# my settings\n")
    assert _config("unset", "waiting_room") == 0
    assert load_settings(environ={}, path=config_file).waiting_room is True
    assert _config("unset", "waiting_room") == 0  # already gone: nothing to do


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("no_such_setting", "1", "unknown setting 'no_such_setting'"),
        ("connection_timeout", "soon", "connection_timeout = 'soon' is not a valid float"),
        ("connection_timeout", "500", "The connection timeout must be between 0 and 120"),
        ("waiting_room", "maybe", "waiting_room = 'maybe' is not a valid bool"),
        ("connect_url", "http://example.com", "config.insecure_url"),
        ("keymap", "x", "keymap = 'x' is not a valid dict[str, str]"),
        ("end_user_id", "", "config unset end_user_id"),
    ],
)
def test_set_refuses_invalid_values(
    config_file: Path, capsys: pytest.CaptureFixture[str], key: str, value: str, reason: str
) -> None:
    assert _config("set", key, value) == EXIT_REFUSED
    assert reason in capsys.readouterr().err
    assert not config_file.exists()


def test_unset_refuses_an_unknown_name(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _config("unset", "colour") == EXIT_REFUSED
    assert "unknown setting 'colour'" in capsys.readouterr().err


def test_set_api_key_is_never_printed(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _config("set", "api_key", KEY) == 0
    out = capsys.readouterr()
    assert "api_key = [redacted]" in out.out and KEY not in out.out + out.err
    assert _mode(config_file) == 0o600


def test_set_plain_http_names_the_setting_that_allows_it_not_a_run_flag(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _config("set", "connect_url", "http://example.com") == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "config set insecure_http true" in err
    assert "--insecure-http" not in err
    # and what it names works: allow plain http first, then the URL is accepted
    assert _config("set", "insecure_http", "true") == 0
    assert _config("set", "connect_url", "http://example.com") == 0
    assert "http://example.com" in config_file.read_text()


def test_init_plain_http_names_its_own_flag(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _config(
        "init", "--no-check", "--connect-url", "http://example.com", prompts=_answers(KEY, "c")
    )
    assert code == EXIT_REFUSED
    assert "add --insecure-http to `config init`" in capsys.readouterr().err
