"""Session controls through the real core against the stand-in on a real livekit-server.

The stand-in's own wire behaviour for raw packets (parse-error, validation-error, unknown-type
acks, both envelope forms) is pinned by test_standin_rtvi.py::test_protocol_error_acks and
::test_every_registry_type_gets_exactly_one_ack; here the client side is under test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from convai_tui.core.api import events as ev
from convai_tui.core.api.bus import Subscription
from convai_tui.core.api.port import ControlResult
from convai_tui.core.api.states import SessionState
from convai_tui.core.rtvi import controls as c
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.local.character.bot import Character
from convai_tui.local.server import LocalStandIn
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.widgets.requests import RequestsTable
from tests.integration.standin_client import StandInFactory, standin_factory
from tests.integration.test_headless_cli import Server, run, server

__all__ = ["server", "standin_factory"]

pytestmark = pytest.mark.integration


@pytest.fixture
async def cores() -> AsyncIterator[list[SessionCore]]:
    made: list[SessionCore] = []
    yield made
    for core in made:
        await core.close()


async def until(
    sub: Subscription,
    predicate: Callable[[ev.Event], bool],
    seen: list[ev.Event],
    wait_s: float = 20.0,
) -> ev.Event:
    async with asyncio.timeout(wait_s):
        async for event in sub:
            seen.append(event)
            if predicate(event):
                return event
    raise AssertionError("subscription closed")


async def ready_core(
    standin: LocalStandIn, cores: list[SessionCore], **kw: Any
) -> tuple[SessionCore, Subscription, list[ev.Event]]:
    settings = SessionSettings(
        connect_url=standin.connect_url,
        api_key=standin.api_key,
        character_id=standin.character_id,
        **kw,
    )
    core = SessionCore(settings)
    cores.append(core)
    sub = core.subscribe()
    seen: list[ev.Event] = []
    await core.start()
    await until(sub, lambda e: isinstance(e, ev.BotReady), seen)
    return core, sub, seen


def bot_of(standin: LocalStandIn, core: SessionCore) -> Character:
    session_id = core.diagnostics()["room"]["session_id"]
    bot = standin.sessions.bot_for(standin.sessions.sessions[session_id])
    assert bot is not None
    return bot


async def send(core: SessionCore, request: c.ControlRequest) -> ControlResult:
    """A control as the TUI and headless send it: the built request through send_control."""
    return await core.send_control(request.type, request.data)


async def test_every_control_round_trips_with_its_ack(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    standin = await standin_factory()
    core, sub, seen = await ready_core(standin, cores)
    bot = bot_of(standin, core)

    trigger = await send(core, c.trigger("greet"))
    assert trigger.status == "success" and trigger.extras
    assert trigger.extras["trigger_name"] == "greet"
    await until(sub, lambda e: isinstance(e, ev.TurnCompleted), seen)  # the trigger's reply

    first = await send(core, c.context_update("the user is a nurse", "append"))
    assert first.status == "success" and first.extras
    assert first.extras["max_tokens"] == 50_000
    count = first.extras["token_count"]
    assert count > 0 and first.extras["remaining_tokens"] == 50_000 - count
    more = await send(core, c.context_update("and works nights in a large hospital", "append"))
    assert more.extras and more.extras["token_count"] > count
    assert more.extras["remaining_tokens"] < first.extras["remaining_tokens"]
    reset = await send(core, c.context_update(mode="reset"))
    assert reset.extras and reset.extras["token_count"] == 0

    keys = await send(core, c.template_keys({"city": "Paris", "name": "Sam"}))
    assert keys.status == "success" and bot.template_keys == {"city": "Paris", "name": "Sam"}

    info = await send(core, c.dynamic_info("It is raining"))
    assert info.status == "success" and bot.dynamic_info == "It is raining"

    off = await send(core, c.tts(False))
    assert off.status == "success" and off.extras == {"enabled": False}
    assert off.message == "TTS disabled" and bot.tts_enabled is False
    on = await send(core, c.tts(True))
    assert on.extras == {"enabled": True} and bot.tts_enabled is True

    muted = await send(core, c.stt(True))
    assert muted.status == "success" and muted.extras == {"muted": True} and bot.stt_muted

    for result in (
        await send(core, c.force_user_stopped_speaking()),
        await send(core, c.reset_idle_timer()),
        await send(core, c.interrupt()),
    ):
        assert result.status == "success", result

    acks = [e for e in seen if isinstance(e, ev.ServerResponseReceived)]
    sent = {e.message_id: e.message_type for e in seen if isinstance(e, ev.MessageSent)}
    # Every ack is matched to the message that caused it, in order.
    assert all(a.message_id in sent and sent[a.message_id] == a.event_type for a in acks)
    assert core.state is SessionState.CONNECTED


async def test_invalid_payload_gets_the_servers_error_ack(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    standin = await standin_factory()
    core, _sub, _seen = await ready_core(standin, cores)
    result = await core.send_control("update-dynamic-info", {"dynamic_info": {}})
    assert result.status == "error" and result.message == "No text provided in dynamic info"


async def test_interrupt_while_the_character_speaks(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    standin = await standin_factory(tts="tone")
    core, sub, seen = await ready_core(standin, cores)
    await core.send_text("tell me a long story")
    await until(
        sub, lambda e: isinstance(e, ev.BotActivityChanged) and e.activity == "speaking", seen
    )
    result = await send(core, c.interrupt())
    assert result.status == "success"
    done = await until(sub, lambda e: isinstance(e, ev.TurnCompleted), seen)
    assert isinstance(done, ev.TurnCompleted) and done.was_interrupted


async def test_unknown_type_and_oversize_are_refused_locally(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    standin = await standin_factory()
    core, _sub, _seen = await ready_core(standin, cores)
    sent_before = core.metrics.messages_sent
    unknown = await core.send_control("dance", {})
    assert unknown.status == "refused"
    big = await send(core, c.context_update("word " * 4000))
    assert big.status == "refused" and big.message and "15,360" in big.message
    assert core.metrics.messages_sent == sent_before
    # The session is unharmed.
    assert (await send(core, c.tts(False))).status == "success"


async def test_raw_malformed_packets_get_error_acks_the_core_survives(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    """Bytes the core would never send, pushed through its room: the server's error acks come
    back as unmatched server_response events and the session carries on."""
    standin = await standin_factory()
    core, sub, seen = await ready_core(standin, cores)
    room = transport.room if (transport := core._channel()) else None  # test-only peek at the room
    assert room is not None
    for payload in (
        b"{not json",
        json.dumps({"data": {"text": "no type"}}).encode(),
        json.dumps({"type": "dance", "data": {}}).encode(),
    ):
        await room.local_participant.publish_data(payload, reliable=True)
    acks: dict[str, ev.ServerResponseReceived] = {}
    while len(acks) < 3:
        ack = await until(sub, lambda e: isinstance(e, ev.ServerResponseReceived), seen)
        assert isinstance(ack, ev.ServerResponseReceived)
        acks[ack.event_type] = ack
    assert acks["parse-error"].status == "error" and acks["parse-error"].message_id is None
    assert acks["validation-error"].message == "Message missing required 'type' field"
    assert acks["dance"].message == "Unknown message type: dance"
    assert acks["dance"].extras and "kill-pipeline" in acks["dance"].extras["supported_types"]
    assert (await send(core, c.tts(True))).status == "success"


async def test_kill_pipeline_ends_the_session_cleanly(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    standin = await standin_factory()
    core, sub, seen = await ready_core(standin, cores)
    result = await send(core, c.kill_pipeline())
    assert result.status == "success" and result.message == "Pipeline killed successfully"
    assert result.extras and result.extras["room_name"]
    ended = await until(sub, lambda e: isinstance(e, ev.SessionEnded), seen)
    assert isinstance(ended, ev.SessionEnded)
    assert ended.reason == "kill_pipeline" and ended.error is None
    await asyncio.sleep(1.0)
    assert core.state is SessionState.DISCONNECTED
    assert len(standin.stats["connect_requests"]) == 1  # no reconnect
    assert not [e for e in seen if isinstance(e, ev.RetryScheduled)]


def test_headless_controls_then_say(server: Server, tmp_path: Path) -> None:
    """The acceptance command line: each control's ack, in order, then the reply to --say."""
    result = run(
        server,
        tmp_path,
        "--trigger",
        "greet",
        "--context",
        "the user is a nurse:append",
        "--template-key",
        "city=Paris",
        "--template-key",
        "mood=calm",
        "--tts",
        "off",
        "--say",
        "hi",
        "--exit-after-reply",
    )
    assert result.code == 0, result.stderr
    acks = result.of("server_response")
    # ... and quitting (--exit-after-reply) ends the server session: kill-pipeline, acked.
    assert [a["event_type"] for a in acks] == [
        "trigger-message",
        "context-update",
        "update-template-keys",
        "tts-toggle",
        "user_text_message",
        "kill-pipeline",
    ]
    assert all(a["status"] == "success" for a in acks), acks
    assert acks[1]["extras"]["token_count"] > 0 and acks[1]["extras"]["max_tokens"] == 50000
    assert acks[3]["extras"] == {"enabled": False}
    sent = result.of("message_sent")
    assert sent[2]["summary"] == "city=Paris, mood=calm"
    finals = [e for e in result.of("transcript") if e["role"] == "character" and e["final"]]
    assert len(finals) == 2 and "greet" in finals[0]["text"] and '"hi"' in finals[1]["text"]
    types = [e["type"] for e in result.events]
    last_ack = max(
        i
        for i, e in enumerate(result.events)
        if e["type"] == "server_response" and e["event_type"] == "tts-toggle"
    )
    reply = next(i for i, e in enumerate(result.events) if e is finals[1])
    assert last_ack < reply
    turns = result.of("turn_completed")
    assert len(turns) == 2 and not any(t["was_interrupted"] for t in turns)
    assert types[-1] == "session_ended" and result.events[-1]["reason"] == "exit_after_reply"


def test_headless_stt_flag_mutes_and_unmutes_the_characters_listening(
    server: Server, tmp_path: Path
) -> None:
    result = run(server, tmp_path, "--stt", "off", "--say", "still typed", "--exit-after-reply")
    assert result.code == 0, result.stderr
    (ack,) = [a for a in result.of("server_response") if a["event_type"] == "stt-toggle"]
    assert ack["status"] == "success" and ack["extras"] == {"muted": True}
    finals = [e for e in result.of("transcript") if e["role"] == "character" and e["final"]]
    assert '"still typed"' in finals[-1]["text"]
    result = run(server, tmp_path, "--stt", "on", "--duration", "3")
    (ack,) = [a for a in result.of("server_response") if a["event_type"] == "stt-toggle"]
    assert ack["extras"] == {"muted": False}


def test_headless_control_flags_are_validated(server: Server, tmp_path: Path) -> None:
    result = run(server, tmp_path, "--context", ":replace")
    assert result.code == 2 and "needs some text" in result.stderr
    result = run(server, tmp_path, "--template-key", "novalue")
    assert result.code == 2 and "name=value" in result.stderr


async def test_tui_requests_panel_shows_the_acks(standin_factory: StandInFactory) -> None:
    """The real monitor on the real core: the done-when controls, then the Requests tab."""
    standin = await standin_factory()
    session = SessionCore(
        SessionSettings(
            connect_url=standin.connect_url,
            api_key=standin.api_key,
            character_id=standin.character_id,
        )
    )
    app = ConvaiApp(session)
    try:
        async with app.run_test(size=(140, 45)) as pilot:
            for _ in range(300):
                if app.model.bot_ready:
                    break
                await asyncio.sleep(0.1)
            assert app.model.bot_ready
            for request in (
                c.trigger("greet"),
                c.context_update("the user is a nurse"),
                c.template_keys({"city": "Paris"}),
                c.tts(False),
            ):
                app.send_control(request)
                await asyncio.sleep(0.3)  # in order, like the headless runner
            await pilot.press("f7")
            rows: list[tuple[str, ...]] = []
            for _ in range(100):
                rows = list(app.query_one(RequestsTable).shown.values())
                if len(rows) == 4 and all(r[3] != "pending" for r in rows):
                    break
                await asyncio.sleep(0.1)
            assert [(r[1], r[3]) for r in rows] == [
                ("trigger-message", "success"),
                ("context-update", "success"),
                ("update-template-keys", "success"),
                ("tts-toggle", "success"),
            ]
            assert rows[3][4] == "TTS disabled"
            assert app.model.tts_enabled is False
            budget = app.model.context_budget
            assert budget is not None and budget.max_tokens == 50_000 and not budget.low
            await pilot.press("ctrl+q")
    finally:
        await session.close()
