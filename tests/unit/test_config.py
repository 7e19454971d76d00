import os
import stat
from pathlib import Path

import pytest

from convai_tui.config import (
    ConfigError,
    load_settings,
    warn_if_loose,
    write_private_file,
)
from convai_tui.core.settings.session_settings import (
    SessionSettings,
    is_loopback,
    validate_settings,
)


def test_precedence_cli_over_env_over_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        'api_key = "from-file"\ncharacter_id = "file-char"\n'
        "connection_timeout = 12\nwaiting_room = false\n"
    )
    env = {"CONVAI_CHARACTER_ID": "env-char", "CONVAI_CONNECTION_TIMEOUT": "20"}
    s = load_settings({"connection_timeout": 5.0, "api_key": None}, environ=env, path=path)
    assert s.api_key == "from-file"
    assert s.character_id == "env-char"
    assert s.connection_timeout == 5.0
    assert s.waiting_room is False


def test_bad_values_name_their_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CONVAI_CONNECTION_TIMEOUT"):
        load_settings(environ={"CONVAI_CONNECTION_TIMEOUT": "soon"}, path=tmp_path / "none")
    bad = tmp_path / "bad.toml"
    bad.write_text("unknown_thing = 1\n")
    with pytest.raises(ConfigError, match="unknown_thing"):
        load_settings(environ={}, path=bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("api_key = \n")
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        load_settings(environ={}, path=broken)


def test_private_file_and_loose_warning(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    write_private_file(path, 'api_key = "x"\n')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert warn_if_loose(path) is None
    os.chmod(path, 0o644)
    warning = warn_if_loose(path)
    assert warning is not None and "chmod 600" in warning


def settings(**kw: object) -> SessionSettings:
    base: dict[str, object] = {
        "connect_url": "https://live.convai.com",
        "api_key": "k" * 10,
        "character_id": "c",
    }
    base.update(kw)
    return SessionSettings(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"api_key": ""}, "config.api_key_missing"),
        ({"api_key": "   "}, "config.api_key_missing"),
        ({"character_id": ""}, "config.character_id_missing"),
        ({"connect_url": "ftp://x"}, "config.invalid"),
        ({"connect_url": "http://example.com"}, "config.insecure_url"),
        ({"connection_timeout_s": 121}, "config.invalid"),
        ({"connection_timeout_s": 0}, "config.invalid"),
    ],
)
def test_validation_codes(kw: dict[str, object], code: str) -> None:
    error = validate_settings(settings(**kw))
    assert error is not None and error.code == code


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:2", "https://example.com"]
)
def test_accepted_urls(url: str) -> None:
    assert validate_settings(settings(connect_url=url)) is None


def test_insecure_http_flag_allows_remote_http() -> None:
    assert validate_settings(settings(connect_url="http://example.com", insecure_http=True)) is None


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.5") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")
