"""What a headless run tells a script: the exit status, the `error` line's fix and verify, one
stderr line on failure, and when --exit-after-reply ends the run (audio on or off). The real
session core against the fake room."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from convai_tui.core.api import events as ev
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.headless import runner as runner_module
from convai_tui.headless.runner import HeadlessRunner
from tests.unit.core.test_session_core import make
from tests.unit.fakes import FakeTransport, ok_response

TOO_LARGE = "x" * 20_000


@pytest.fixture
async def cores() -> AsyncIterator[list[SessionCore]]:
    made: list[SessionCore] = []
    yield made
    for core in made:
        await core.close()


async def _poll(condition: Callable[[], bool], within_s: float = 3.0) -> None:
    for _ in range(int(within_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


class Run:
    def __init__(self, core: SessionCore, **kw: Any) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.runner = HeadlessRunner(core, out=self.out, err=self.err, **kw)
        self.task = asyncio.ensure_future(self.runner.run())

    async def transport(self) -> FakeTransport:
        await _poll(lambda: bool(FakeTransport.instances))
        return FakeTransport.instances[-1]

    async def sent_text(self, transport: FakeTransport) -> None:
        await _poll(lambda: any(m.get("type") == "user_text_message" for m in transport.sent))

    async def code(self) -> int:
        async with asyncio.timeout(15):
            return await self.task

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


async def _ready(
    core: SessionCore, cores: list[SessionCore], **kw: Any
) -> tuple[Run, FakeTransport]:
    cores.append(core)
    run = Run(core, **kw)
    transport = await run.transport()
    await asyncio.sleep(0.05)
    transport.deliver({"type": "bot-ready", "data": {}})
    return run, transport


async def test_a_run_whose_only_say_was_refused_exits_1_naming_the_refusal(
    cores: list[SessionCore],
) -> None:
    core, _api = make([ok_response()])
    run, _transport = await _ready(core, cores, say=[TOO_LARGE], exit_after_reply=True)
    assert await run.code() == 1
    (error,) = [line for line in run.lines() if line["type"] == "error"]
    assert error["code"] == "protocol.message_too_large"
    assert error["fix"] == "Shorten the text or context and send again."
    assert error["verify"] == "The message is sent."
    stderr = run.err.getvalue().splitlines()
    assert len(stderr) == 1
    assert stderr[0].startswith("convai-tui: protocol.message_too_large: The user_text_message")
    assert stderr[0].endswith("Fix: Shorten the text or context and send again.")


async def test_a_refusal_without_a_catalogue_error_is_named_input_refused(
    cores: list[SessionCore],
) -> None:
    core, _api = make([ok_response()])
    run, _transport = await _ready(core, cores, say=["   "], exit_after_reply=True)
    assert await run.code() == 1
    assert run.err.getvalue().startswith(
        "convai-tui: session.input_refused: Nothing to send: the message is empty."
    )


async def test_an_answered_say_exits_0_with_nothing_on_stderr(cores: list[SessionCore]) -> None:
    core, _api = make([ok_response()])
    run, transport = await _ready(core, cores, say=["hello"], exit_after_reply=True)
    await run.sent_text(transport)
    transport.deliver({"type": "bot-turn-completed", "data": {}})
    assert await run.code() == 0
    assert run.err.getvalue() == ""
    assert run.lines()[-1]["type"] == "session_ended"


async def test_a_session_ending_in_error_exits_1_with_its_code_and_fix_on_stderr(
    cores: list[SessionCore],
) -> None:
    core, _api = make([ok_response()])
    core.settings = SessionSettings(connect_url="http://127.0.0.1:9", api_key="", character_id="c")
    cores.append(core)
    run = Run(core)
    assert await run.code() == 1
    (line,) = run.err.getvalue().splitlines()
    assert line.startswith("convai-tui: config.api_key_missing: ")
    assert " Fix: " in line
    (error,) = [e for e in run.lines() if e["type"] == "error"]
    assert error["fix"] and "verify" in error


async def _quit_delay(cores: list[SessionCore], *, audio: bool, speaking_s: float) -> float:
    """Seconds from the reply's turn end to the runner's disconnect, with the speaker heard
    for `speaking_s` after it."""
    core, _api = make([ok_response()])
    run, transport = await _ready(core, cores, say=["hello"], exit_after_reply=True, audio=audio)
    await run.sent_text(transport)
    transport.deliver({"type": "bot-turn-completed", "data": {}})
    ended = time.monotonic()
    while time.monotonic() - ended < speaking_s:
        core.emit(
            ev.AudioLevels(mic_dbfs=None, speaker_dbfs=-20.0 - time.monotonic() % 1, muted=False)
        )
        await asyncio.sleep(0.05)
    core.emit(ev.AudioLevels(mic_dbfs=None, speaker_dbfs=-90.0, muted=False))
    assert await run.code() == 0
    disconnecting = [
        line["ts"]
        for line in run.lines()
        if line["type"] == "state_changed" and line["new"] == "disconnecting"
    ]
    turn = [line["ts"] for line in run.lines() if line["type"] == "turn_completed"]
    return float(disconnecting[0] - turn[0])


async def test_exit_after_reply_with_audio_off_ends_at_the_turn_end(
    cores: list[SessionCore],
) -> None:
    assert await _quit_delay(cores, audio=False, speaking_s=1.0) < 0.3


async def test_exit_after_reply_with_audio_on_lets_the_reply_play_out(
    cores: list[SessionCore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "REPLY_AUDIO_QUIET_S", 0.2)
    delay = await _quit_delay(cores, audio=True, speaking_s=1.0)
    assert 1.0 <= delay < 2.0, delay
