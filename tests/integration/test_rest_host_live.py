"""The API key reaches no host the user did not configure: the monitor (the cli's session run
with the real core and the real monitor, headless Textual) and `run --headless`, against the
stand-in on a real livekit-server, with the connect URL on loopback and on a made-up non-Convai
hostname. Every HTTP(S) request goes through a recording proxy (tests/integration/
recording_proxy.py) that maps the made-up name to this machine and refuses anything else."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from convai_tui.cli.main import RunOptions, _run_session
from convai_tui.config import Settings
from convai_tui.ui.app import ConvaiApp
from tests.integration.headless_harness import HeadlessRun, LocalServer
from tests.integration.recording_proxy import RecordingProxy
from tests.integration.standin_client import require_livekit_server

pytestmark = pytest.mark.integration

MADE_UP_HOST = "voice-service.example"
STANDIN_NAME = "Ada"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    require_livekit_server()
    standin = LocalServer.start(tmp_path_factory.mktemp("rest-host-standin"))
    try:
        yield standin
    finally:
        standin.close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    with RecordingProxy({"127.0.0.1", "localhost", MADE_UP_HOST}) as recording:
        yield recording


def _connect_url(server: LocalServer, host: str) -> str:
    return f"http://{host}:{urlsplit(server.connect_url).port}"


def _assert_only(proxy: RecordingProxy, host: str) -> None:
    """Nothing for Convai's hosts; only the connect host and the LiveKit server /connect named
    (the stand-in's, on 127.0.0.1; LiveKit's client uses the proxy too)."""
    hosts = proxy.hosts()
    assert not {h for h in hosts if h == "convai.com" or h.endswith(".convai.com")}, hosts
    assert hosts <= {host, "127.0.0.1"}, proxy.requests()


def _quit_when_ready(shown: list[str | None]) -> Any:
    """ConvaiApp.run_async for the real monitor, headless, quitting once the character is ready
    (the name it showed kept in `shown`)."""
    original = ConvaiApp.run_async

    async def run_async(app: ConvaiApp, **_: Any) -> Any:
        async def quit_when_ready() -> None:
            for _ in range(600):
                if app.model.bot_ready:
                    shown.append(app.model.character_name)
                    break
                await asyncio.sleep(0.1)
            app.exit(0)

        watcher = asyncio.create_task(quit_when_ready())
        try:
            async with asyncio.timeout(90):
                return await original(app, headless=True, size=(120, 40))
        finally:
            watcher.cancel()

    return run_async


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", MADE_UP_HOST])
async def test_the_monitor_asks_the_name_only_of_the_connect_host(
    server: LocalServer,
    proxy: RecordingProxy,
    host: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in proxy.env().items():
        monkeypatch.setenv(name, value)
    shown: list[str | None] = []
    monkeypatch.setattr(ConvaiApp, "run_async", _quit_when_ready(shown))
    settings = Settings(
        connect_url=_connect_url(server, host),
        api_key=server.api_key,
        character_id=server.character_id,
        insecure_http=host == MADE_UP_HOST,
        audio=False,
        session_log_dir=str(tmp_path),
    )
    run = RunOptions(
        headless=False,
        say=[],
        exit_after_reply=False,
        duration_s=None,
        snapshot=None,
        session_log=None,
        controls=[],
        audio=False,
    )
    assert await _run_session(settings, run) == 0
    _assert_only(proxy, host)
    assert shown == [STANDIN_NAME]  # asked of the connect host, which answered
    if host != "127.0.0.1":  # the proxy was in the path (127.0.0.1 goes direct, NO_PROXY)
        asked = {(seen.method, seen.path) for seen in proxy.requests()}
        assert {("POST", "/character/get"), ("POST", "/connect")} <= asked


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", MADE_UP_HOST])
def test_headless_sends_the_key_only_to_the_connect_host(
    server: LocalServer, proxy: RecordingProxy, host: str, tmp_path: Path
) -> None:
    extra = ["--insecure-http"] if host == MADE_UP_HOST else []
    run = HeadlessRun.start(
        server,
        tmp_path,
        "--say",
        "hello",
        "--exit-after-reply",
        *extra,
        connect_url=_connect_url(server, host),
        env=proxy.env(),
    )
    assert run.finish() == 0, run.stderr
    assert "bot_ready" in run.types()
    _assert_only(proxy, host)
    if host != "127.0.0.1":
        assert ("POST", "/connect") in {(seen.method, seen.path) for seen in proxy.requests()}
