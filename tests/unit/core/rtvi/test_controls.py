"""Session controls: payload builders, command-line parsing, and send_control on the real core
against a fake room (refusals, oversize, ack matching, budget warning, kill-pipeline)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from convai_tui.core.api import events as ev
from convai_tui.core.api.states import SessionState
from convai_tui.core.rtvi import controls as c
from convai_tui.core.rtvi.protocol import MAX_PACKET_BYTES
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.session_settings import CONTROL_TYPES, SessionSettings
from tests.unit.fakes import FakeApi, FakeTransport, drain, next_event, ok_response

# --- builders ------------------------------------------------------------------------------------


BUILT = [
    (c.trigger("greet"), "trigger-message", {"trigger_name": "greet"}),
    (c.trigger(None, "Say hello"), "trigger-message", {"trigger_message": "Say hello"}),
    (
        c.trigger(" greet ", " hi "),
        "trigger-message",
        {"trigger_name": "greet", "trigger_message": "hi"},
    ),
    (
        c.context_update("the user is a nurse"),
        "context-update",
        {"text": "the user is a nurse", "mode": "append"},
    ),
    (
        c.context_update("x", "replace", run_llm=True),
        "context-update",
        {"text": "x", "mode": "replace", "run_llm": "true"},
    ),
    (
        c.context_update("ignored", "reset", run_llm="auto"),
        "context-update",
        {"text": "", "mode": "reset", "run_llm": "auto"},
    ),
    (
        c.template_keys({"city": "Paris", "name": ""}),
        "update-template-keys",
        {"template_keys": {"city": "Paris", "name": ""}},
    ),
    (
        c.dynamic_info("It is raining"),
        "update-dynamic-info",
        {"dynamic_info": {"text": "It is raining"}},
    ),
    (c.tts(False), "tts-toggle", {"enabled": False}),
    (c.stt(True), "stt-toggle", {"muted": True}),
    (c.interrupt(), "interrupt-bot", {}),
    (c.force_user_stopped_speaking(), "force-user-stopped-speaking", {}),
    (c.reset_idle_timer(), "reset-idle-timer", {}),
    (c.kill_pipeline(), "kill-pipeline", {}),
    (c.user_text(" hi "), "user_text_message", {"text": "hi"}),
    (
        c.scene_metadata([("torch", "A flaming torch")]),
        "update-scene-metadata",
        {"scene_metadata": [{"name": "torch", "description": "A flaming torch"}]},
    ),
    (c.usage_toggle(True), "usage-toggle", {"enabled": True}),
    (c.vision_status(), "vision-status", {}),
    (
        c.vision_trigger("What changed?", "auto"),
        "vision-trigger",
        {"respond_mode": "auto", "text": "What changed?"},
    ),
    (
        c.context_update(
            "New context",
            "append",
            "auto",
            current_attention_object="torch",
            action_config={"objects": [{"name": "torch", "description": "lit"}]},
        ),
        "context-update",
        {
            "text": "New context",
            "mode": "append",
            "run_llm": "auto",
            "current_attention_object": "torch",
            "action_config": {"objects": [{"name": "torch", "description": "lit"}]},
        },
    ),
    (
        c.context_update("", "reset", remove_static=True),
        "context-update",
        {"text": "", "mode": "reset", "remove_static": True},
    ),
]


@pytest.mark.parametrize(("request_", "msg_type", "data"), BUILT)
def test_builders_make_the_documented_payloads(
    request_: c.ControlRequest, msg_type: str, data: dict[str, Any]
) -> None:
    assert request_.type == msg_type
    assert request_.data == data
    assert request_.type in CONTROL_TYPES


def test_every_console_type_has_a_builder() -> None:
    assert {b[1] for b in BUILT} == CONTROL_TYPES


async def test_vision_messages_are_refused_without_video(core: SessionCore) -> None:
    _sub, transport = await ready(core)
    for request in (c.vision_status(), c.vision_trigger("hi")):
        result = await core.send_control(request.type, request.data)
        assert result.status == "refused" and "video" in (result.message or "")
    assert transport.sent == []


@pytest.mark.parametrize(
    "build",
    [
        lambda: c.trigger(),
        lambda: c.trigger("  ", ""),
        lambda: c.context_update("", "append"),
        lambda: c.context_update("text", "prepend"),
        lambda: c.context_update("text", "append", run_llm="maybe"),
        lambda: c.template_keys({"": "x"}),
        lambda: c.template_keys({"k": 3}),  # type: ignore[dict-item]
        lambda: c.dynamic_info(" "),
        lambda: c.user_text(""),
    ],
)
def test_invalid_arguments_are_refused_with_a_message(build: Any) -> None:
    with pytest.raises(c.ControlArgumentError) as info:
        build()
    assert str(info.value).endswith((".", ")."))


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "data"),
    [
        ("greet", {"trigger_name": "greet"}),
        ("greet:Hello there", {"trigger_name": "greet", "trigger_message": "Hello there"}),
        (":Hello: there", {"trigger_message": "Hello: there"}),
        ("greet:", {"trigger_name": "greet"}),
    ],
)
def test_parse_trigger(spec: str, data: dict[str, Any]) -> None:
    assert c.parse_trigger(spec).data == data


@pytest.mark.parametrize(
    ("spec", "text", "mode"),
    [
        ("the user is a nurse:append", "the user is a nurse", "append"),
        ("the user is a nurse", "the user is a nurse", "append"),
        ("time: 10:30", "time: 10:30", "append"),
        ("ratio 3:2:replace", "ratio 3:2", "replace"),
        ("note: reset", "note: reset", "append"),
        (":reset", "", "reset"),
        ("anything:reset", "", "reset"),
    ],
)
def test_parse_context_only_a_final_mode_is_a_mode(spec: str, text: str, mode: str) -> None:
    request = c.parse_context(spec)
    assert (request.data["text"], request.data["mode"]) == (text, mode)


def test_parse_context_refuses_empty_text() -> None:
    with pytest.raises(c.ControlArgumentError):
        c.parse_context(":append")


def test_parse_template_keys() -> None:
    request = c.parse_template_keys(["city=Paris", "eq=a=b", "empty=", "city=Lyon"])
    assert request.data == {"template_keys": {"city": "Lyon", "eq": "a=b", "empty": ""}}
    for bad in ("novalue", "=x"):
        with pytest.raises(c.ControlArgumentError):
            c.parse_template_key(bad)


def test_parse_on_off() -> None:
    assert c.parse_on_off("on") is True and c.parse_on_off("OFF") is False
    with pytest.raises(c.ControlArgumentError):
        c.parse_on_off("maybe")


def test_summaries() -> None:
    assert c.trigger("greet", "hi").summary == "greet · hi"
    assert c.context_update("a  b", "replace").summary == "replace: a b"
    assert c.context_update("", "reset").summary == "reset"
    assert c.template_keys({"city": "Paris"}).summary == "city=Paris"
    assert c.tts(False).summary == "off"
    assert c.interrupt().summary == ""
    assert len(c.user_text("x" * 500).summary) == 80


# --- send_control on the real core -----------------------------------------------------------------


@pytest.fixture
async def core() -> AsyncIterator[SessionCore]:
    FakeTransport.instances.clear()
    FakeTransport.join_error = None
    settings = SessionSettings(
        connect_url="http://127.0.0.1:9", api_key="sk-test-key-123", character_id="char-1"
    )
    session = SessionCore(
        settings,
        api_client=FakeApi([ok_response()]),  # type: ignore[arg-type]
        transport_factory=FakeTransport,  # type: ignore[arg-type]
    )
    yield session
    await session.close()


async def ready(core: SessionCore) -> tuple[Any, FakeTransport]:
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    await asyncio.sleep(0)
    transport = FakeTransport.instances[-1]
    transport.deliver({"type": "bot-ready", "data": {}})
    await next_event(sub, ev.BotReady)
    return sub, transport


async def ack_after_send(
    transport: FakeTransport, body: dict[str, Any], *, wrapped: bool = False
) -> None:
    count = len(transport.sent)
    for _ in range(2000):
        if len(transport.sent) > count:
            break
        await asyncio.sleep(0.001)
    assert len(transport.sent) > count, "nothing was sent"
    if wrapped:
        transport.deliver(
            {
                "label": "rtvi-ai",
                "type": "server-message",
                "data": {"type": "server-response", **body},
            }
        )
    else:
        transport.deliver({"type": "server-response", **body})


async def test_refused_before_connecting_and_for_unknown_types(core: SessionCore) -> None:
    sub = core.subscribe()
    result = await core.send_control("tts-toggle", {"enabled": False})
    assert result.status == "refused" and "disconnected" in (result.message or "")
    refused = [e for e in drain(sub) if isinstance(e, ev.InputRefused)]
    assert refused and refused[0].text == "tts-toggle"
    unknown = await core.send_control("dance", {})
    assert unknown.status == "refused" and "Unknown control message type" in (unknown.message or "")


async def test_refused_while_the_character_is_not_ready(core: SessionCore) -> None:
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    result = await core.send_control("interrupt-bot")
    assert result.status == "refused" and result.message == (
        "Not sent: the character is not ready yet."
    )
    assert FakeTransport.instances[-1].sent == []


async def test_oversize_is_refused_locally_with_a_clear_error(core: SessionCore) -> None:
    sub, transport = await ready(core)
    big = c.context_update("word " * (MAX_PACKET_BYTES // 5))
    result = await core.send_control(big.type, big.data)
    assert result.status == "refused"
    assert result.message and "15,360" in result.message and "context-update" in result.message
    assert transport.sent == []
    errors = [e for e in drain(sub) if isinstance(e, ev.ErrorRaised)]
    assert [e.error.code for e in errors] == ["protocol.message_too_large"]


@pytest.mark.parametrize("wrapped", [False, True])
async def test_ack_is_matched_and_budget_warning_raised(core: SessionCore, wrapped: bool) -> None:
    sub, transport = await ready(core)
    request = c.context_update("the user is a nurse")
    extras = {"token_count": 46_000, "max_tokens": 50_000, "remaining_tokens": 4_000}
    task = asyncio.create_task(core.send_control(request.type, request.data))
    await ack_after_send(
        transport,
        {
            "event_type": "context-update",
            "status": "success",
            "message": "Context updated",
            "extras": extras,
        },
        wrapped=wrapped,
    )
    result = await task
    assert result.status == "success" and result.extras == extras
    sent = transport.sent[-1]
    # The docs' envelope: {type, data}, no label, no top-level id for this type.
    assert sent == {"type": "context-update", "data": request.data}
    seen = drain(sub)
    message = next(e for e in seen if isinstance(e, ev.MessageSent))
    assert message.summary == "append: the user is a nurse"
    ack = next(e for e in seen if isinstance(e, ev.ServerResponseReceived))
    assert ack.message_id == result.message_id
    warnings = [e for e in seen if isinstance(e, ev.LogRecorded) and e.category == "context"]
    assert len(warnings) == 1 and "4000" in warnings[0].message


async def test_missing_ack_is_a_named_timeout(core: SessionCore) -> None:
    sub, _transport = await ready(core)
    result = await core.send_control("tts-toggle", {"enabled": True}, ack_timeout_s=0.05)
    assert result.status == "timeout" and result.message_id
    codes = [e.error.code for e in drain(sub) if isinstance(e, ev.ErrorRaised)]
    assert codes == ["session.ack_timeout"]


async def test_kill_pipeline_ends_disconnected_without_reconnecting(core: SessionCore) -> None:
    sub, transport = await ready(core)
    transport.auto_ack_kill = False  # this test scripts the ack
    task = asyncio.create_task(core.send_control("kill-pipeline", {}))
    await ack_after_send(
        transport,
        {
            "event_type": "kill-pipeline",
            "status": "success",
            "message": "Pipeline killed successfully",
            "extras": {"room_name": "room-1"},
        },
    )
    assert (await task).status == "success"
    transport.drop(5)  # ROOM_DELETED, as the server closes the room
    seen: list[ev.Event] = []
    ended = await next_event(sub, ev.SessionEnded, seen=seen)
    assert ended.reason == "kill_pipeline" and ended.error is None
    assert core.state is SessionState.DISCONNECTED
    assert not [e for e in seen if isinstance(e, ev.RetryScheduled | ev.ErrorRaised)]


async def test_a_refused_kill_does_not_hide_a_later_drop(core: SessionCore) -> None:
    sub, transport = await ready(core)
    transport.auto_ack_kill = False  # this test scripts the ack
    task = asyncio.create_task(core.send_control("kill-pipeline", {}))
    await ack_after_send(
        transport,
        {"event_type": "kill-pipeline", "status": "error", "message": "Usage limit exceeded"},
    )
    assert (await task).status == "error"
    transport.drop(5)
    ended = await next_event(sub, ev.SessionEnded)
    assert ended.reason != "kill_pipeline" and ended.error is not None


@pytest.mark.parametrize("msg_type", ["context-update", "kill-pipeline"])
async def test_an_ack_that_arrives_before_the_send_returns_still_answers_it(
    core: SessionCore, msg_type: str
) -> None:
    """LiveKit's publish_data completes after the server's answer can already be in: under load
    the ack is read while the send is still awaited (seen in CI: a context-update's ack became a
    row of its own and the request then timed out)."""
    sub, transport = await ready(core)
    transport.auto_ack_kill = False
    send = transport.send

    async def send_answered_at_once(payload: bytes) -> None:
        await send(payload)
        transport.deliver({"type": "server-response", "event_type": msg_type, "status": "success"})
        await asyncio.sleep(0)

    transport.send = send_answered_at_once  # type: ignore[method-assign]
    data = c.context_update("the user is a nurse").data if msg_type == "context-update" else {}
    result = await core.send_control(msg_type, data, ack_timeout_s=1.0)
    assert result.status == "success"
    acks = [e for e in drain(sub) if isinstance(e, ev.ServerResponseReceived)]
    assert [a.message_id for a in acks] == [result.message_id]


async def test_every_builder_reaches_the_wire_through_send_control(core: SessionCore) -> None:
    """What the TUI and headless do with a control: the builder's request, sent through the
    core's send_control, goes out as {type, data} and returns the matching ack."""
    _sub, transport = await ready(core)
    requests = [
        c.trigger("greet"),
        c.context_update("nurse", "append"),
        c.template_keys({"city": "Paris"}),
        c.tts(False),
        c.stt(True),
        c.interrupt(),
        c.force_user_stopped_speaking(),
        c.reset_idle_timer(),
        c.dynamic_info("raining"),
    ]
    for request in requests:
        task = asyncio.create_task(core.send_control(request.type, request.data, ack_timeout_s=3.0))
        await ack_after_send(
            transport, {"event_type": request.type, "status": "success", "message": "ok"}
        )
        assert (await task).status == "success", request.type
    assert [sent["type"] for sent in transport.sent] == [r.type for r in requests]
    assert [sent.get("data") for sent in transport.sent] == [r.data or None for r in requests]
