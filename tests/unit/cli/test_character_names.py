"""The monitor's character-name lookup sends the API key only to the REST host that belongs to
the connect URL: the settings route (flags / env / file → Settings → SessionSettings) and the
lookup the cli runs before the monitor opens, over a transport that fails on any other host."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from convai_tui.cli.parser import build_parser, setting_values
from convai_tui.cli.room_flags import apply_room_arguments, with_character_names
from convai_tui.config import Settings, load_settings, parse_setting, shown_settings
from convai_tui.core.settings.session_settings import SessionSettings

KEY = "key-123456789"


class StrictHosts(httpx.AsyncBaseTransport):
    """Answers /character/get on the allowed hosts; any other host fails the test."""

    def __init__(self, *allowed: str) -> None:
        self.allowed = set(allowed)
        self.asked: list[tuple[str, str]] = []
        self.unexpected: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host not in self.allowed:
            self.unexpected.append(str(request.url))
            raise AssertionError(f"the API key was sent to {request.url}")
        assert request.headers["CONVAI-API-KEY"] == KEY
        char_id = json.loads(request.content)["charID"]
        self.asked.append((host, char_id))
        return httpx.Response(200, json={"character_name": f"name of {char_id}"})


def _settings(argv: list[str], tmp_path: Path, file: str = "", **environ: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(file)
    args = build_parser().parse_args(["run", *argv])
    return load_settings(setting_values(args), environ=environ, path=path)


async def _names(settings: Settings, transport: StrictHosts, tmp_path: Path) -> SessionSettings:
    session = apply_room_arguments(settings.session_settings(), settings, tmp_path)
    return await with_character_names(session, settings.rest_url, transport=transport)


@pytest.mark.parametrize(
    ("connect_url", "host"),
    [
        ("https://live.convai.com", "api.convai.com"),
        ("https://realtime-api.convai.com", "api.convai.com"),
        ("http://127.0.0.1:8080", "127.0.0.1"),
        ("http://localhost:8080", "localhost"),
        ("https://voice.example.org/v1", "voice.example.org"),
    ],
)
async def test_the_name_comes_from_the_host_of_the_connect_url(
    connect_url: str, host: str, tmp_path: Path
) -> None:
    settings = _settings(
        ["--connect-url", connect_url, "--api-key", KEY, "--character-id", "c1"], tmp_path
    )
    transport = StrictHosts(host)
    named = await _names(settings, transport, tmp_path)
    assert transport.unexpected == [] and transport.asked == [(host, "c1")]
    assert named.character_name == "name of c1"


@pytest.mark.parametrize(
    ("connect_url", "source"),
    [
        ("https://live.convai.com", "flag"),
        ("http://127.0.0.1:8080", "env"),
        ("https://voice.example.org", "file"),
    ],
)
async def test_a_rest_url_the_user_gave_is_the_only_host_asked(
    connect_url: str, source: str, tmp_path: Path
) -> None:
    argv = ["--connect-url", connect_url, "--api-key", KEY, "--character-id", "c1"]
    given = "https://rest.example/"
    settings = _settings(
        [*argv, "--rest-url", given] if source == "flag" else argv,
        tmp_path,
        file=f'rest_url = "{given}"\n' if source == "file" else "",
        **({"CONVAI_REST_URL": given} if source == "env" else {}),
    )
    assert settings.rest_url == given
    transport = StrictHosts("rest.example")
    named = await _names(settings, transport, tmp_path)
    assert transport.unexpected == [] and transport.asked == [("rest.example", "c1")]
    assert named.character_name == "name of c1"


async def test_every_character_of_a_room_is_asked_of_the_same_host(tmp_path: Path) -> None:
    room = ["--character", "a", "--character", "b", "--character", "a"]
    settings = _settings(
        [
            "--connect-url",
            "http://standin.example:8080",
            "--insecure-http",
            "--api-key",
            KEY,
            *room,
        ],
        tmp_path,
    )
    transport = StrictHosts("standin.example")
    named = await _names(settings, transport, tmp_path)
    assert transport.unexpected == []
    assert sorted(transport.asked) == [("standin.example", "a"), ("standin.example", "b")]
    assert named.room is not None and named.room.names == {"a": "name of a", "b": "name of b"}
    assert named.character_name == "name of a"


@pytest.mark.parametrize(
    "argv",
    [
        ["--connect-url", "http://voice.example.org", "--character-id", "c1", "--api-key", KEY],
        ["--connect-url", "https://live.convai.com", "--character-id", "c1"],
        ["--connect-url", "https://live.convai.com", "--api-key", KEY],
    ],
    ids=["plain-http-to-another-host", "no-key", "no-character"],
)
async def test_nothing_is_asked_when_the_session_would_be_refused(
    argv: list[str], tmp_path: Path
) -> None:
    transport = StrictHosts()
    named = await _names(_settings(argv, tmp_path), transport, tmp_path)
    assert transport.asked == [] and transport.unexpected == []
    assert named.character_name is None


def test_rest_url_is_given_or_none_and_config_show_says_which(tmp_path: Path) -> None:
    assert Settings().rest_url is None
    assert shown_settings(_settings([], tmp_path))["rest_url"] is None
    from_file = _settings([], tmp_path, file='rest_url = "https://file.example"\n')
    assert shown_settings(from_file)["rest_url"] == "https://file.example"
    over = _settings(
        ["--rest-url", "https://flag.example"],
        tmp_path,
        file='rest_url = "https://file.example"\n',
        CONVAI_REST_URL="https://env.example",
    )
    assert over.rest_url == "https://flag.example"
    assert _settings([], tmp_path, CONVAI_REST_URL="").rest_url is None
    assert parse_setting("rest_url", "https://set.example", "config set") == "https://set.example"
