"""The session orchestrator against a fake connect API and a fake room (no network)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from convai_tui.core.api import events as ev
from convai_tui.core.api.bus import Subscription
from convai_tui.core.api.states import SessionState, is_legal
from convai_tui.core.connect.connect_api import ConnectResponse
from convai_tui.core.errors.error import ConvaiError
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.retry import RetryPolicy
from convai_tui.core.settings.session_settings import SessionSettings
from tests.unit.fakes import (
    TOKEN,
    FakeApi,
    FakeTransport,
    drain,
    http_error,
    next_event,
    ok_response,
)

FAST = RetryPolicy(
    connect_delays_s=(0.0, 0.05, 0.1, 0.2),
    reconnect_delays_s=(0.02, 0.04, 0.08),
    server_shutdown_delay_s=0.1,
    waiting_room_base_s=0.05,
    waiting_room_cap_s=0.1,
)


def make(
    script: list[ConnectResponse | ConvaiError], *, policy: RetryPolicy = FAST, **kw: object
) -> tuple[SessionCore, FakeApi]:
    FakeTransport.instances.clear()
    FakeTransport.join_error = None
    settings = SessionSettings(
        connect_url="http://127.0.0.1:9",
        api_key="sk-test-key-123",
        character_id="char-1",
        retry=policy,
        **kw,  # type: ignore[arg-type]
    )
    api = FakeApi(script)
    core = SessionCore(settings, api_client=api, transport_factory=FakeTransport)  # type: ignore[arg-type]
    return core, api


@pytest.fixture
async def closer() -> AsyncIterator[list[SessionCore]]:
    cores: list[SessionCore] = []
    yield cores
    for core in cores:
        await core.close()


def states(events: list[ev.Event]) -> list[str]:
    return [e.new.value for e in events if isinstance(e, ev.SessionStateChanged)]


def assert_legal(events: list[ev.Event]) -> None:
    for e in events:
        if isinstance(e, ev.SessionStateChanged):
            assert is_legal(e.old, e.new), (e.old, e.new)


async def run_until(sub: Subscription, kind: type[ev.Event]) -> list[ev.Event]:
    seen: list[ev.Event] = []
    await next_event(sub, kind, seen=seen)
    return seen


async def until_state(sub: Subscription, state: SessionState) -> list[ev.Event]:
    seen: list[ev.Event] = []
    while True:
        event = await next_event(sub, ev.SessionStateChanged, seen=seen)
        if event.new is state:
            return seen


async def connected(
    core: SessionCore, closer: list[SessionCore]
) -> tuple[Subscription, FakeTransport]:
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    await asyncio.sleep(0)
    transport = FakeTransport.instances[-1]
    transport.deliver({"type": "bot-ready", "data": {}})
    await next_event(sub, ev.BotReady)
    return sub, transport


async def test_missing_api_key_fails_before_any_request(closer: list[SessionCore]) -> None:
    core, api = make([ok_response()])
    core.settings = SessionSettings(connect_url="http://127.0.0.1:9", api_key="", character_id="c")
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    seen = await run_until(sub, ev.SessionEnded)
    errors = [e.error.code for e in seen if isinstance(e, ev.ErrorRaised)]
    assert errors == ["config.api_key_missing"]
    assert states(seen) == ["connecting", "error"]
    assert api.requests == []
    assert core.state is SessionState.ERROR


async def test_non_retryable_fails_after_exactly_one_request(closer: list[SessionCore]) -> None:
    core, api = make([http_error("connection.connect_invalid_api_key", 401)])
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    seen = await run_until(sub, ev.SessionEnded)
    assert len(api.requests) == 1
    assert states(seen) == ["connecting", "error"]
    ended = seen[-1]
    assert isinstance(ended, ev.SessionEnded) and ended.error is not None
    assert ended.error.code == "connection.connect_invalid_api_key"
    assert not [e for e in seen if isinstance(e, ev.RetryScheduled)]


async def test_retryable_is_tried_four_times_on_schedule(closer: list[SessionCore]) -> None:
    core, api = make([http_error("connection.service_unavailable", 503)])
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    seen = await run_until(sub, ev.SessionEnded)
    assert len(api.requests) == 4
    scheduled = [e for e in seen if isinstance(e, ev.RetryScheduled)]
    assert [(e.attempt, e.max_attempts, e.delay_s, e.phase) for e in scheduled] == [
        (2, 4, 0.05, "connect"),
        (3, 4, 0.1, "connect"),
        (4, 4, 0.2, "connect"),
    ]
    gaps = [b - a for a, b in zip(api.request_times, api.request_times[1:], strict=False)]
    for gap, expected in zip(gaps, (0.05, 0.1, 0.2), strict=True):
        assert expected - 0.01 <= gap <= expected + 0.1
    assert core.state is SessionState.ERROR
    attempts = [e.attempt for e in seen if isinstance(e, ev.ConnectAttemptStarted)]
    assert attempts == [1, 2, 3, 4]
    assert_legal(seen)


async def test_waiting_room_keeps_polling_until_a_slot_frees(closer: list[SessionCore]) -> None:
    busy = http_error("connection.connect_concurrency_limit_reached", 429)
    core, api = make([busy] * 7 + [ok_response()])
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    seen = await run_until(sub, ev.RoomJoined)
    assert len(api.requests) == 8
    scheduled = [e for e in seen if isinstance(e, ev.RetryScheduled)]
    assert {e.phase for e in scheduled} == {"waiting_room"}
    assert all(e.max_attempts is None and e.waiting_since is not None for e in scheduled)
    assert core.state is SessionState.CONNECTED
    assert "error" not in states(seen)


async def test_waiting_room_off_gives_up_after_four(closer: list[SessionCore]) -> None:
    busy = http_error("connection.connect_concurrency_limit_reached", 429)
    core, api = make(
        [busy], policy=RetryPolicy(connect_delays_s=(0, 0.01, 0.01, 0.01), waiting_room=False)
    )
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    seen = await run_until(sub, ev.SessionEnded)
    assert len(api.requests) == 4
    assert seen[-1].error.code == "connection.connect_concurrency_limit_reached"  # type: ignore[attr-defined]


async def test_cancel_in_the_waiting_room_ends_disconnected(closer: list[SessionCore]) -> None:
    busy = http_error("connection.connect_concurrency_limit_reached", 429)
    core, api = make([busy], policy=RetryPolicy(connect_delays_s=(0, 5, 5, 5)))
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RetryScheduled)
    core.cancel_retry()
    seen = await run_until(sub, ev.SessionEnded)
    assert core.state is SessionState.DISCONNECTED
    assert any(isinstance(e, ev.RetryCancelled) for e in seen)
    assert states(seen)[-2:] == ["disconnecting", "disconnected"]
    assert len(api.requests) == 1


async def test_retry_now_skips_the_wait(closer: list[SessionCore]) -> None:
    core, api = make(
        [http_error("connection.timeout", 0), ok_response()],
        policy=RetryPolicy(connect_delays_s=(0, 30, 30, 30)),
    )
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RetryScheduled)
    core.retry_now()
    await next_event(sub, ev.RoomJoined, wait_s=2)
    assert len(api.requests) == 2


async def test_text_sent_before_bot_ready_is_queued_then_sent(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()])
    closer.append(core)
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    outcome = await core.send_text("early bird")
    assert outcome.status == "queued"
    transport = FakeTransport.instances[-1]
    assert transport.sent == []
    transport.deliver({"type": "bot-ready"})
    sent = await next_event(sub, ev.MessageSent)
    assert sent.message_type == "user_text_message"
    assert transport.sent[0]["data"] == {"text": "early bird"}
    assert "label" not in transport.sent[0] and "id" not in transport.sent[0]


async def test_queue_is_bounded_and_refusals_are_events(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()], input_queue_limit=2)
    closer.append(core)
    sub = core.subscribe()
    assert (await core.send_text("not connected")).status == "refused"
    await core.start()
    await next_event(sub, ev.RoomJoined)
    assert (await core.send_text("a")).status == "queued"
    assert (await core.send_text("b")).status == "queued"
    third = await core.send_text("c")
    assert third.status == "refused" and third.reason
    refused = [e for e in drain(sub) if isinstance(e, ev.InputRefused)]
    assert [e.text for e in refused] == ["c"]
    await core.disconnect()
    leftovers = [e for e in drain(sub) if isinstance(e, ev.InputRefused)]
    assert [e.text for e in leftovers] == ["a", "b"]  # never silently lost


async def test_a_text_turn_streams_then_completes(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()])
    sub, t = await connected(core, closer)
    assert (await core.send_text("hello")).status == "sent"
    t.deliver({"type": "user-transcription", "data": {"text": "hello", "final": True}})
    t.deliver(
        {"type": "server-message", "data": {"type": "final-user-transcription", "text": "hello"}}
    )
    t.deliver({"type": "bot-llm-started"})
    for chunk in ("You said", ' "hello"', "."):
        t.deliver({"type": "bot-llm-text", "data": {"text": chunk}})
    t.deliver({"type": "bot-llm-stopped"})
    t.deliver(
        {"type": "server-message", "data": {"type": "bot-emotion", "emotion": "happy", "scale": 2}}
    )
    t.deliver(
        {
            "type": "server-message",
            "data": {"type": "action-response", "actions": [{"name": "wave"}]},
        }
    )
    t.deliver(
        {"type": "server-message", "data": {"type": "bot-turn-completed", "was_interrupted": False}}
    )
    seen = await run_until(sub, ev.TurnCompleted)
    transcripts = [(e.role, e.text, e.final) for e in seen if isinstance(e, ev.TranscriptReceived)]
    assert transcripts == [
        ("user", "hello", True),  # once: the server's echo is suppressed
        ("character", "You said", False),
        ("character", ' "hello"', False),
        ("character", ".", False),
        ("character", 'You said "hello".', True),
    ]
    assert any(isinstance(e, ev.EmotionReceived) and e.emotion == "happy" for e in seen)
    assert any(isinstance(e, ev.ActionsReceived) and e.actions == ("wave",) for e in seen)
    assert core.metrics.turn_first_text_ms


async def test_idle_warning_reset_and_ack(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()])
    sub, t = await connected(core, closer)
    t.deliver(
        {"type": "server-message", "data": {"type": "user-idle-warning", "remaining_seconds": 30}}
    )
    warning = await next_event(sub, ev.IdleWarningReceived)
    assert warning.remaining_seconds == 30 and warning.deadline > warning.at
    await core.reset_idle_timer()
    assert t.sent[-1]["type"] == "reset-idle-timer"
    t.deliver({"type": "server-response", "event_type": "reset-idle-timer", "status": "success"})
    reset = await next_event(sub, ev.IdleTimerReset)
    reset = reset if reset.acknowledged else await next_event(sub, ev.IdleTimerReset)
    assert reset.acknowledged


async def test_idle_timeout_close_ends_disconnected_with_reason(closer: list[SessionCore]) -> None:
    core, api = make([ok_response()])
    sub, t = await connected(core, closer)
    t.deliver(
        {"type": "server-message", "data": {"type": "session-ending", "reason": "idle_timeout"}}
    )
    seen = await run_until(sub, ev.SessionEnded)
    assert seen[-1].reason == "idle_timeout"  # type: ignore[attr-defined]
    assert any(
        isinstance(e, ev.ErrorRaised) and e.error.code == "session.idle_timeout" for e in seen
    )
    assert core.state is SessionState.DISCONNECTED
    assert len(api.requests) == 1


async def test_usage_limit_ends_in_error_without_reconnect(closer: list[SessionCore]) -> None:
    core, api = make([ok_response()])
    sub, t = await connected(core, closer)
    t.deliver(
        {
            "type": "server-message",
            "data": {"type": "usage-limit-reached", "quota_type": "minutes", "message": "over"},
        }
    )
    t.drop(5)
    seen = await run_until(sub, ev.SessionEnded)
    assert any(isinstance(e, ev.UsageLimitReached) and e.quota_type == "minutes" for e in seen)
    assert core.state is SessionState.ERROR
    assert seen[-1].error.code == "server.usage_limit_reached"  # type: ignore[attr-defined]
    assert len(api.requests) == 1
    assert_legal(seen)


@pytest.mark.parametrize(
    ("fatal", "code"),
    [(True, "server.fatal_error"), (False, "server.error"), (None, "server.error")],
)  # issue #16 item 6
async def test_server_errors(closer: list[SessionCore], fatal: bool | None, code: str) -> None:
    core, _ = make([ok_response()])
    sub, t = await connected(core, closer)
    data: dict[str, object] = {"error": "pipeline hiccup"}
    if fatal is not None:
        data["fatal"] = fatal
    t.deliver({"type": "error", "data": data})
    raised = await next_event(sub, ev.ErrorRaised)
    assert raised.error.code == code
    await asyncio.sleep(0.05)
    expected = SessionState.ERROR if code == "server.fatal_error" else SessionState.CONNECTED
    assert core.state is expected


async def test_malformed_messages_are_errors_not_crashes(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()])
    sub, t = await connected(core, closer)
    t.deliver(b"{nope")
    t.deliver({"type": "user-idle-warning", "data": {"remaining_seconds": "later"}})
    t.deliver({"type": "server-response", "event_type": "x", "status": "weird"})
    codes = [(await next_event(sub, ev.ErrorRaised)).error.code for _ in range(3)]
    assert codes == [
        "protocol.parse_failed",
        "protocol.message_invalid",
        "protocol.message_invalid",
    ]
    assert core.state is SessionState.CONNECTED


async def test_drop_reconnects_keeping_character_session(closer: list[SessionCore]) -> None:
    core, api = make([ok_response(1, "cs-keep"), ok_response(2, "cs-keep")])
    sub, t = await connected(core, closer)
    t.drop(9)  # SIGNAL_CLOSE
    seen = await until_state(sub, SessionState.CONNECTED)
    assert states(seen) == ["reconnecting", "connected"]
    assert len(api.requests) == 2
    assert api.requests[1].character_session_id == "cs-keep"
    assert api.disconnects  # the old session was released first
    scheduled = [e for e in seen if isinstance(e, ev.RetryScheduled)]
    assert scheduled[0].phase == "reconnect" and scheduled[0].max_attempts == 3
    assert core.metrics.reconnects == 1
    assert_legal(seen)


async def test_server_shutdown_waits_before_reconnecting(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response(1), ok_response(2)])
    sub, t = await connected(core, closer)
    t.drop(3)  # SERVER_SHUTDOWN
    scheduled = await next_event(sub, ev.RetryScheduled)
    assert scheduled.delay_s == FAST.server_shutdown_delay_s


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (2, "transport.duplicate_identity"),
        (4, "transport.participant_removed"),
        (5, "transport.room_deleted"),
        (7, "transport.join_failure"),
    ],
)
async def test_drops_that_never_reconnect(
    closer: list[SessionCore], reason: int, code: str
) -> None:
    core, api = make([ok_response()])
    sub, t = await connected(core, closer)
    t.drop(reason)
    seen = await run_until(sub, ev.SessionEnded)
    assert core.state is SessionState.ERROR
    assert seen[-1].error.code == code  # type: ignore[attr-defined]
    assert len(api.requests) == 1


async def test_reconnects_give_up_after_three(closer: list[SessionCore]) -> None:
    core, api = make([ok_response(1), http_error("connection.timeout", 0)])
    sub, t = await connected(core, closer)
    t.drop(0)
    seen = await run_until(sub, ev.SessionEnded)
    assert len(api.requests) == 1 + 3
    assert core.state is SessionState.ERROR
    final = seen[-1].error  # type: ignore[attr-defined]
    assert final.code == "connection.timeout" and final.stage.value == "SessionRecovery"
    assert "3 reconnect attempts" in final.message
    assert_legal(seen)


async def test_user_disconnect_is_clean(closer: list[SessionCore]) -> None:
    core, api = make([ok_response()])
    sub, t = await connected(core, closer)
    await core.disconnect()
    seen = drain(sub)
    assert states(seen) == ["disconnecting", "disconnected"]
    assert t.left and api.disconnects == [ok_response().session_id]
    assert any(isinstance(e, ev.ParticipantLeft) for e in seen)
    assert isinstance(seen[-1], ev.SessionEnded) and seen[-1].error is None


async def test_events_never_carry_the_token_or_key(closer: list[SessionCore]) -> None:
    core, _ = make([ok_response()])
    everything = core.subscribe()
    sub, t = await connected(core, closer)
    await core.send_text("hi")
    assert core.diagnostics()["room"]["token_redacted"] == "eyJ…[redacted]"
    t.drop(5)
    await next_event(sub, ev.SessionEnded)
    seen = drain(everything)
    assert len(seen) > 10
    text = repr([e.to_json() for e in seen])
    assert TOKEN not in text and "sk-test-key-123" not in text
