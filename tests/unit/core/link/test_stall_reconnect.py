"""A stalled link that does not come back: the room is kept for the stall grace (announced as
reconnect attempt 1's wait), then left, and the documented reconnects run with the character
session id; when they all fail the session ends in Error with a named code. Retry now cuts the
grace short; cancel ends the session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from convai_tui.core.api import events as ev
from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import ConvaiError, make_error
from convai_tui.core.link import watch as link_watch
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.retry import RetryPolicy
from convai_tui.core.settings.session_settings import SessionSettings
from tests.unit.core.link.test_watch import CountingTransport
from tests.unit.fakes import FakeApi, FakeTransport, next_event, ok_response

BOT_START_FAILED = ConvaiError(
    make_error("connection.connect_bot_start_failed", "HTTP 500: failed to start bot")
)


def _core(api: FakeApi, grace_s: float) -> SessionCore:
    settings = SessionSettings(
        connect_url="http://127.0.0.1:9",
        api_key="sk-test-key-123",
        character_id="char-1",
        link_stall_s=0.15,
        retry=RetryPolicy(
            reconnect_delays_s=(0.05, 0.05, 0.05), max_reconnect_attempts=3, stall_grace_s=grace_s
        ),
    )
    return SessionCore(
        settings,
        api_client=api,  # type: ignore[arg-type]
        transport_factory=CountingTransport,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def fast_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link_watch, "LINK_POLL_S", 0.02)
    FakeTransport.instances.clear()
    FakeTransport.join_error = None


@pytest.fixture
async def frozen() -> AsyncIterator[tuple[SessionCore, FakeApi]]:
    api = FakeApi([ok_response(1), BOT_START_FAILED])
    core = _core(api, grace_s=0.3)
    yield core, api
    await core.close()


async def _stall(core: SessionCore) -> tuple[Any, CountingTransport]:
    sub = core.subscribe()
    await core.start()
    await next_event(sub, ev.RoomJoined)
    transport = FakeTransport.instances[-1]
    assert isinstance(transport, CountingTransport)
    assert core.state is SessionState.CONNECTED
    transport.flowing = False
    changed = await next_event(sub, ev.SessionStateChanged, wait_s=2)
    while changed.new is SessionState.CONNECTED:  # the join's own change, still queued
        changed = await next_event(sub, ev.SessionStateChanged, wait_s=2)
    assert changed.new is SessionState.RECONNECTING and changed.reason == "link_stalled"
    return sub, transport


async def test_a_server_that_stays_frozen_ends_in_error_after_the_bounded_attempts(
    frozen: tuple[SessionCore, FakeApi],
) -> None:
    core, api = frozen
    sub, transport = await _stall(core)
    seen: list[ev.Event] = []
    ended = await next_event(sub, ev.SessionEnded, wait_s=5, seen=seen)
    scheduled = [e for e in seen if isinstance(e, ev.RetryScheduled)]
    assert [(e.attempt, e.max_attempts, e.phase) for e in scheduled] == [
        (1, 3, "reconnect"),
        (2, 3, "reconnect"),
        (3, 3, "reconnect"),
    ]
    assert scheduled[0].delay_s == 0.3  # the stall grace is attempt 1's wait
    assert scheduled[0].error is not None
    assert scheduled[0].error.code == "transport.signal_disconnected"
    dues = [e.due_at for e in scheduled]
    assert dues == sorted(dues) and len(set(dues)) == 3  # each attempt announced with its time
    assert transport.left and transport.teardown == []  # no kill-pipeline into a dead link
    assert set(api.disconnects) == {"00000000-0000-4000-8000-000000000001"}
    assert len(api.requests) == 4  # the first connect and three reconnects, no more
    assert {r.character_session_id for r in api.requests[1:]} == {"cs-1"}
    assert core.state is SessionState.ERROR
    assert ended.reason == "reconnects_exhausted"
    assert ended.error is not None and ended.error.code == "connection.connect_bot_start_failed"
    assert ended.error.message.startswith("Gave up after 3 reconnect attempts")


async def test_the_link_back_within_the_grace_keeps_the_room() -> None:
    api = FakeApi([ok_response(1), ok_response(2)])
    core = _core(api, grace_s=1.0)
    try:
        sub, transport = await _stall(core)
        scheduled = await next_event(sub, ev.RetryScheduled, wait_s=2)
        assert scheduled.attempt == 1 and scheduled.delay_s == 1.0
        transport.flowing = True
        back = await next_event(sub, ev.SessionStateChanged, wait_s=2)
        assert back.new is SessionState.CONNECTED and back.reason == "link_recovered"
        await asyncio.sleep(1.2)  # past the grace: nothing more happens
        assert core.state is SessionState.CONNECTED
        assert not transport.left and len(api.requests) == 1  # no reconnect, the room was kept
        # The kept room still reports how it ends: a drop now reconnects as any drop does.
        transport.drop(0)
        joined = await next_event(sub, ev.RoomJoined, wait_s=3)
        assert joined.room_name == "room-2" and transport.left
        assert core.state is SessionState.CONNECTED
    finally:
        await core.close()


async def test_retry_now_during_the_grace_leaves_and_reconnects_at_once() -> None:
    api = FakeApi([ok_response(1), ok_response(2)])
    core = _core(api, grace_s=30.0)
    try:
        sub, transport = await _stall(core)
        scheduled = await next_event(sub, ev.RetryScheduled, wait_s=2)
        assert scheduled.delay_s == 30.0
        core.retry_now()
        joined = await next_event(sub, ev.RoomJoined, wait_s=2)
        assert joined.room_name == "room-2"
        assert core.state is SessionState.CONNECTED
        assert transport.left and len(api.requests) == 2
    finally:
        await core.close()


async def test_cancel_during_the_grace_ends_the_session() -> None:
    api = FakeApi([ok_response(1)])
    core = _core(api, grace_s=30.0)
    try:
        sub, transport = await _stall(core)
        await next_event(sub, ev.RetryScheduled, wait_s=2)
        core.cancel_retry()
        cancelled = await next_event(sub, ev.RetryCancelled, wait_s=2)
        assert cancelled.phase == "reconnect"
        ended = await next_event(sub, ev.SessionEnded, wait_s=3)
        assert ended.reason == "cancelled"
        assert core.state is SessionState.DISCONNECTED
        assert transport.left and len(api.requests) == 1
    finally:
        await core.close()
