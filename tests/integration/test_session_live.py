"""The real session core against the local stand-in on a real livekit-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from convai_tui.core.api import events as ev
from convai_tui.core.api.bus import Subscription
from convai_tui.core.api.states import SessionState, is_legal
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.retry import RetryPolicy
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.local.server import LocalStandIn
from tests.integration.standin_client import StandInFactory, get_json, post, standin_factory

__all__ = ["standin_factory"]

pytestmark = [pytest.mark.integration, pytest.mark.serial]
SessionMaker = Callable[..., SessionCore]


@pytest.fixture
async def make_session() -> AsyncIterator[SessionMaker]:
    cores: list[SessionCore] = []

    def make(standin: LocalStandIn, **kw: object) -> SessionCore:
        settings = SessionSettings(
            connect_url=standin.connect_url,
            api_key=standin.api_key,
            character_id=standin.character_id,
            **kw,  # type: ignore[arg-type]
        )
        core = SessionCore(settings)
        cores.append(core)
        return core

    yield make
    for core in cores:
        await core.close()


async def until(
    sub: Subscription,
    predicate: Callable[[ev.Event], bool],
    seen: list[ev.Event],
    wait_s: float = 30.0,
) -> ev.Event:
    async with asyncio.timeout(wait_s):
        async for event in sub:
            seen.append(event)
            if predicate(event):
                return event
    raise AssertionError("subscription closed")


def of(kind: type[ev.Event]) -> Callable[[ev.Event], bool]:
    return lambda e: isinstance(e, kind)


def to_state(state: SessionState) -> Callable[[ev.Event], bool]:
    return lambda e: isinstance(e, ev.SessionStateChanged) and e.new is state


def connect_count(standin: LocalStandIn) -> int:
    return len(standin.stats["connect_requests"])


async def start_ready(core: SessionCore) -> tuple[Subscription, list[ev.Event]]:
    sub = core.subscribe()
    seen: list[ev.Event] = []
    await core.start()
    await until(sub, of(ev.BotReady), seen)
    return sub, seen


async def test_text_turn_reply_quotes_the_user(
    standin_factory: StandInFactory, make_session: SessionMaker
) -> None:
    standin = await standin_factory()
    core = make_session(standin)
    sub, seen = await start_ready(core)
    assert core.state is SessionState.CONNECTED
    assert (await core.send_text("the blue lantern")).status == "sent"
    done = await until(sub, of(ev.TurnCompleted), seen)
    assert isinstance(done, ev.TurnCompleted) and not done.was_interrupted
    finals = [e for e in seen if isinstance(e, ev.TranscriptReceived) and e.final]
    assert [e.role for e in finals] == ["user", "character"]
    assert "the blue lantern" in finals[1].text
    acks = [e for e in seen if isinstance(e, ev.ServerResponseReceived)]
    assert acks and acks[0].event_type == "user_text_message" and acks[0].status == "success"
    kinds = {e.kind for e in seen if isinstance(e, ev.ParticipantJoined)}
    assert kinds == {"local_player", "character"}
    assert done.first_text_ms is not None and done.first_text_ms < 2000
    for e in seen:
        if isinstance(e, ev.SessionStateChanged):
            assert is_legal(e.old, e.new)


async def test_text_typed_before_ready_is_delivered(
    standin_factory: StandInFactory, make_session: SessionMaker
) -> None:
    standin = await standin_factory()
    core = make_session(standin)
    sub = core.subscribe()
    seen: list[ev.Event] = []
    await core.start()
    outcome = await core.send_text("early")
    assert outcome.status == "queued"
    final = await until(
        sub,
        lambda e: isinstance(e, ev.TranscriptReceived) and e.role == "character" and e.final,
        seen,
    )
    assert '"early"' in final.text  # type: ignore[attr-defined]


async def test_idle_warning_reset_then_timeout(
    standin_factory: StandInFactory, make_session: SessionMaker
) -> None:
    standin = await standin_factory(idle_warning_after_s=1.0, idle_timeout_after_s=4.0)
    core = make_session(standin)
    sub, seen = await start_ready(core)
    warning = await until(sub, of(ev.IdleWarningReceived), seen)
    assert isinstance(warning, ev.IdleWarningReceived) and warning.remaining_seconds is not None
    assert 1 <= warning.remaining_seconds <= 3
    await core.reset_idle_timer()
    await until(sub, lambda e: isinstance(e, ev.IdleTimerReset) and e.acknowledged, seen)
    # Left alone, the next warning runs out and the server closes the session.
    ended = await until(sub, of(ev.SessionEnded), seen, wait_s=20)
    assert isinstance(ended, ev.SessionEnded) and ended.reason == "idle_timeout"
    assert core.state is SessionState.DISCONNECTED
    assert any(
        isinstance(e, ev.ErrorRaised) and e.error.code == "session.idle_timeout" for e in seen
    )
    assert connect_count(standin) == 1  # no reconnect after an idle timeout


async def test_usage_limit_ends_in_error_without_reconnect(
    standin_factory: StandInFactory, make_session: SessionMaker
) -> None:
    standin = await standin_factory(usage_limit_after_turns=1, quota_type="monthly_minutes")
    core = make_session(standin)
    sub, seen = await start_ready(core)
    await core.send_text("one turn")
    limit = await until(sub, of(ev.UsageLimitReached), seen)
    assert isinstance(limit, ev.UsageLimitReached) and limit.quota_type == "monthly_minutes"
    ended = await until(sub, of(ev.SessionEnded), seen)
    assert isinstance(ended, ev.SessionEnded) and ended.error is not None
    assert ended.error.code == "server.usage_limit_reached" and not ended.error.recoverable
    await asyncio.sleep(1.5)
    assert core.state is SessionState.ERROR
    assert connect_count(standin) == 1


@pytest.mark.parametrize("fatal", [False, True])
async def test_server_errors(
    standin_factory: StandInFactory, make_session: SessionMaker, fatal: bool
) -> None:
    standin = await standin_factory(server_error_after_turns=1, server_error_fatal=fatal)
    core = make_session(standin)
    sub, seen = await start_ready(core)
    await core.send_text("trigger")
    raised = await until(
        sub, lambda e: isinstance(e, ev.ErrorRaised) and e.error.category == "server", seen
    )
    assert isinstance(raised, ev.ErrorRaised)
    if fatal:
        assert raised.error.code == "server.fatal_error"
        await until(sub, to_state(SessionState.ERROR), seen)
    else:
        assert raised.error.code == "server.error" and raised.error.recoverable
        await asyncio.sleep(1.0)
        assert core.state is SessionState.CONNECTED
        await core.send_text("still here?")
        await until(sub, of(ev.TurnCompleted), seen)


async def test_reconnect_after_livekit_restart(
    standin_factory: StandInFactory, make_session: SessionMaker
) -> None:
    standin = await standin_factory()
    core = make_session(standin, retry=RetryPolicy(server_shutdown_delay_s=1.0))
    sub, seen = await start_ready(core)
    first = core.diagnostics()["room"]
    status, _ = await post(f"{standin.connect_url}/_standin/livekit/restart")
    assert status == 200
    await until(sub, to_state(SessionState.RECONNECTING), seen, wait_s=30)
    await until(sub, to_state(SessionState.CONNECTED), seen, wait_s=40)
    await until(sub, of(ev.BotReady), seen, wait_s=30)
    again = core.diagnostics()["room"]
    assert again["session_id"] != first["session_id"]
    assert again["character_session_id"] == first["character_session_id"]
    assert core.metrics.reconnects >= 1
    await core.send_text("after the restart")
    await until(sub, of(ev.TurnCompleted), seen)


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("kick", "transport.participant_removed"),
        ("delete-room", "transport.room_deleted"),
        ("duplicate-identity", "transport.duplicate_identity"),
    ],
)
async def test_server_side_removals_do_not_reconnect(
    standin_factory: StandInFactory, make_session: SessionMaker, action: str, code: str
) -> None:
    standin = await standin_factory()
    core = make_session(standin)
    sub, seen = await start_ready(core)
    status, _ = await post(f"{standin.connect_url}/_standin/sessions/all/{action}")
    assert status == 200
    ended = await until(sub, of(ev.SessionEnded), seen)
    assert isinstance(ended, ev.SessionEnded) and ended.error is not None
    assert ended.error.code == code
    assert connect_count(standin) == 1


async def test_disconnect_releases_the_slot(
    standin_factory: StandInFactory, make_session: SessionMaker
) -> None:
    standin = await standin_factory(concurrency_limit=1)
    core = make_session(standin)
    await start_ready(core)
    await core.disconnect()
    stats = await get_json(f"{standin.connect_url}/_standin/stats")
    assert stats["active_sessions"] == []
