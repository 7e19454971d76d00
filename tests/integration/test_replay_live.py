"""Record a real session against the stand-in, replay its log, and see the same conversation:
the transcript and the errors folded from the replay equal those folded from the live events,
both in the reducer and in the real monitor App; and the same counters as the live session's
diagnostics, on a session with a failed connect and a reconnect."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from convai_tui.core.api import events as ev
from convai_tui.core.api.counters import COUNTER_KEYS
from convai_tui.core.api.states import SessionState
from convai_tui.core.errors.error import SessionError
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.retry import RetryPolicy
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.sessionlog.replay import ReplaySession, load_log
from convai_tui.sessionlog.writer import SessionLog
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.model.reducer import MonitorModel, TranscriptLine
from tests.integration.standin_client import StandInFactory, post, standin_factory

__all__ = ["standin_factory"]

pytestmark = pytest.mark.integration


def transcript(model: MonitorModel) -> list[tuple[str, str, float]]:
    # The log keeps times to the microsecond (events' `ts`); rounding the live times the same
    # way compares like with like (rounding both to 3 places again can differ by 1 ms).
    return [(line.role, line.text, round(line.at, 6)) for line in model.transcript]


def errors(model: MonitorModel) -> list[tuple[object, ...]]:
    def key(e: SessionError) -> tuple[object, ...]:
        return (e.code, e.message, e.stage, e.recoverable, e.http_status, e.session_id)

    return [key(e) for e in model.errors]


async def record_live_session(
    standin_factory: StandInFactory, log_path: Path
) -> tuple[list[ev.Event], str]:
    standin = await standin_factory(server_error_after_turns=1)
    core = SessionCore(
        SessionSettings(
            connect_url=standin.connect_url,
            api_key=standin.api_key,
            character_id=standin.character_id,
        )
    )
    recorder = SessionLog(log_path, core.subscribe())
    recorder.start()
    sub = core.subscribe()
    seen: list[ev.Event] = []

    async def until(predicate: type[ev.Event], count: int = 1) -> None:
        async with asyncio.timeout(30):
            async for event in sub:
                seen.append(event)
                if sum(isinstance(e, predicate) for e in seen) >= count:
                    return

    try:
        await core.start()
        await until(ev.BotReady)
        await core.send_text("where is the blue lantern?")
        await until(ev.TurnCompleted)
        await until(ev.ErrorRaised)
        await core.send_text("and the red one?")
        await until(ev.TurnCompleted, 2)
        await core.disconnect()
        await until(ev.SessionEnded)
    finally:
        await core.close()
        await recorder.stop()
    while (event := sub.get_nowait()) is not None:
        seen.append(event)
    return seen, core.info.character_id


async def test_replay_shows_the_same_transcript_and_errors(
    standin_factory: StandInFactory, tmp_path: Path
) -> None:
    log_path = tmp_path / "sessions" / "recorded.jsonl"
    live_events, character_id = await record_live_session(standin_factory, log_path)
    live = MonitorModel(character_id=character_id)
    live.apply_all(live_events)
    assert [line.role for line in live.transcript if line.role in ("user", "character")] == [
        "user",
        "character",
        "user",
        "character",
    ]
    assert [code for code, *_ in errors(live)] == ["server.error"]

    log = load_log(log_path)
    assert log.skipped == 0
    assert len(log.events) == len(live_events)

    session = ReplaySession(log, speed=0)
    sub = session.subscribe()
    await asyncio.wait_for(session.finished.wait(), 10)
    assert session.info.character_id == character_id
    replayed = MonitorModel(character_id=session.info.character_id)
    while (event := sub.get_nowait()) is not None:
        replayed.apply(event)
    await session.close()
    assert transcript(replayed) == transcript(live)
    assert errors(replayed) == errors(live)
    assert replayed.state is live.state and replayed.ended is not None

    # The same through the monitor App, read-only, at 50x speed.
    fast = ReplaySession(load_log(log_path), speed=50)
    app = ConvaiApp(fast, read_only=True, clock=fast.clock, title="convai-tui · REPLAY")
    async with app.run_test(size=(110, 32)) as pilot:
        for _ in range(600):
            await pilot.pause(0.02)
            if fast.finished.is_set() and app.model.events_applied >= fast.published:
                break
        assert fast.finished.is_set()
        shown = app.model
        assert transcript(shown) == transcript(live)
        assert errors(shown) == errors(live)
        assert not any(
            isinstance(line, TranscriptLine) and "stream closed" in line.text
            for line in shown.transcript
        )


def counters(diagnostics: dict[str, Any]) -> dict[str, Any]:
    """The counter figures of a diagnostics() result; times rounded to the log's microseconds
    (a replay knows them only from the events' `ts`)."""
    out = {key: diagnostics[key] for key in (*COUNTER_KEYS, "messages_sent", "uptime_s")}
    for key in ("last_connected_at", "last_error_at"):
        value = out[key]
        out[key] = round(value, 6) if isinstance(value, float) else value
    return out


async def test_replay_shows_the_live_counters_after_a_failed_connect_and_a_reconnect(
    standin_factory: StandInFactory, tmp_path: Path
) -> None:
    # The first /connect is refused (503, retried); then livekit-server restarts (SERVER_SHUTDOWN:
    # reconnect) and the reconnect's first /connect is refused too.
    standin = await standin_factory(connect_status=503, connect_fault_count=1)
    fast = RetryPolicy(
        connect_delays_s=(0.0, 0.2, 0.4, 0.8),
        reconnect_delays_s=(0.2, 0.4, 0.8),
        server_shutdown_delay_s=0.5,
    )
    core = SessionCore(
        SessionSettings(
            connect_url=standin.connect_url,
            api_key=standin.api_key,
            character_id=standin.character_id,
            retry=fast,
        )
    )
    log_path = tmp_path / "sessions" / "faulted.jsonl"
    recorder = SessionLog(log_path, core.subscribe())
    recorder.start()
    sub = core.subscribe()
    seen: list[ev.Event] = []

    async def until(done: type[ev.Event] | SessionState, wait_s: float = 40) -> None:
        async with asyncio.timeout(wait_s):
            async for event in sub:
                seen.append(event)
                if isinstance(done, SessionState):
                    if isinstance(event, ev.SessionStateChanged) and event.new is done:
                        return
                elif isinstance(event, done):
                    return

    try:
        await core.start()
        await until(ev.BotReady)
        await post(
            f"{standin.connect_url}/_standin/faults",
            json_body={"connect_status": 503, "connect_fault_count": 2},
        )
        status, _ = await post(f"{standin.connect_url}/_standin/livekit/restart")
        assert status == 200
        await until(SessionState.RECONNECTING)
        await until(SessionState.CONNECTED)
        await until(ev.BotReady)
        await core.send_text("are you back?")
        await until(ev.TurnCompleted)
        await core.disconnect()
        await until(ev.SessionEnded)
        live = counters(core.diagnostics())
    finally:
        await core.close()
        await recorder.stop()

    assert live["failed_connections"] >= 2  # the refused connect and the refused reconnect
    assert live["reconnects"] >= 1 and live["successful_connections"] >= 2
    assert live["connect_attempts"] == live["successful_connections"] + live["failed_connections"]
    assert live["errors"] >= 3 and live["messages_sent"] >= 1

    session = ReplaySession(load_log(log_path), speed=0)
    session.subscribe()
    await asyncio.wait_for(session.finished.wait(), 10)
    replayed = counters(session.diagnostics())
    await session.close()
    assert replayed == live, (replayed, live)

    monitor = MonitorModel()
    monitor.apply_all(seen)
    assert counters(monitor.counters.snapshot(0)) == live
