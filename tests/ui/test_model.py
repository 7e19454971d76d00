"""The reducer alone: events in, plain state out (no Textual)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import ClassVar

import pytest

from convai_tui.core.api.events import (
    BotActivityChanged,
    ConnectAttemptStarted,
    ErrorRaised,
    IdleTimerReset,
    IdleWarningReceived,
    InputRefused,
    LlmNoResponse,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    RetryCancelled,
    RetryScheduled,
    RoomJoined,
    SessionEnded,
    SessionStateChanged,
    TranscriptReceived,
    TurnCompleted,
    UsageLimitReached,
)
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.errors.error import CATALOGUE_ENTRIES, make_error
from convai_tui.ui.model.reducer import MonitorModel, Part
from tests.ui.fake_core import T0
from tests.ui.scenarios import SCENARIOS


def test_an_event_the_monitor_does_not_show_is_counted_and_otherwise_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from convai_tui.core.api import event_base

    # The class registers itself: into a copy, so it stays out of the README's table.
    monkeypatch.setattr(event_base, "EVENT_CLASSES", dict(event_base.EVENT_CLASSES))

    @dataclass(frozen=True, slots=True)
    class _NotShown(event_base.Event):
        TYPE: ClassVar[str] = "not_shown_in_the_monitor"
        detail: str = ""

    m = MonitorModel(character_id="c")
    m.apply(SessionStateChanged(S.CONNECTING, S.CONNECTED, at=T0))
    before = copy.deepcopy(m)
    assert m.apply(_NotShown(detail="x", at=T0 + 1)) == set()
    assert m.events_applied == before.events_applied + 1
    m.events_applied -= 1
    assert m == before


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_fold_without_error(name: str) -> None:
    m = MonitorModel(character_id="c")
    m.apply_all(SCENARIOS[name]().script)
    assert m.events_applied == len(SCENARIOS[name]().script)


def test_retry_overlay_closes_on_connected_error_disconnected_or_cancel() -> None:
    err = make_error("connection.timeout")
    for closing in (
        SessionStateChanged(S.CONNECTING, S.CONNECTED),
        SessionStateChanged(S.CONNECTING, S.ERROR),
        SessionStateChanged(S.DISCONNECTING, S.DISCONNECTED),
        RetryCancelled("connect"),
    ):
        m = MonitorModel()
        m.apply(RetryScheduled(2, 4, 1.0, T0 + 1, "connect", err, at=T0))
        assert m.retry is not None and m.retry.attempt == 2 and m.retry.max_attempts == 4
        assert Part.RETRY in m.apply(closing)
        assert m.retry is None


def test_streaming_reply_then_final_line() -> None:
    m = MonitorModel(character_name="Ava")
    m.apply(BotActivityChanged("thinking"))
    assert m.thinking
    m.apply(TranscriptReceived("character", "Hel", False, "Hel", 1))
    m.apply(TranscriptReceived("character", "lo", False, "", 1))
    assert m.streaming_text == "Hello" and not m.thinking
    m.apply(TranscriptReceived("character", "Hello there", True, "Hello there", 1))
    assert m.streaming_role is None
    assert m.transcript[-1].role == "character" and m.transcript[-1].text == "Hello there"


def test_turn_completed_finalises_an_unfinished_stream() -> None:
    m = MonitorModel()
    m.apply(TranscriptReceived("character", "Half", False, "Half", 1))
    m.apply(TurnCompleted(1, True, "Half a reply", 300.0))
    assert [line.text for line in m.transcript[-2:]] == ["Half a reply", "reply interrupted"]
    assert m.latency_ms["last_turn_first_text_ms"] == 300.0


def test_llm_no_response_clears_thinking() -> None:
    m = MonitorModel()
    m.apply(BotActivityChanged("thinking"))
    m.apply(LlmNoResponse("empty completion"))
    assert not m.thinking
    assert "no response (empty completion)" in m.transcript[-1].text


def test_each_user_transcript_the_core_publishes_is_one_line() -> None:
    # The core publishes typed text as the user's transcript and suppresses the server's echo
    # itself; the monitor shows what it is given, so the same text said twice shows twice.
    m = MonitorModel()
    m.apply(TranscriptReceived("user", "hi", True, "hi", at=T0))
    m.apply(TranscriptReceived("user", "hi", True, "hi", at=T0 + 2))
    assert [(line.role, line.text) for line in m.transcript] == [("user", "hi"), ("user", "hi")]


def test_a_partial_user_transcript_is_streamed_not_added() -> None:
    m = MonitorModel()
    m.apply(TranscriptReceived("user", "hel", False, at=T0))
    assert m.transcript == [] and m.streaming_text == "hel"
    m.apply(TranscriptReceived("user", "hello", True, at=T0 + 1))
    assert [line.text for line in m.transcript] == ["hello"] and m.streaming_role is None


def test_refused_text_is_not_shown() -> None:
    m = MonitorModel()
    m.apply(InputRefused(text="hi", reason="Not connected", at=T0))
    assert [(line.role, line.text) for line in m.transcript] == [
        ("system", "not sent: Not connected")
    ]


def test_idle_warning_reset_and_timeout() -> None:
    m = MonitorModel()
    m.apply(IdleWarningReceived(30, "idle", T0 + 30, at=T0))
    assert m.idle is not None and m.idle.deadline == T0 + 30
    m.request_idle_reset()
    assert m.idle.reset_requested
    m.apply(IdleTimerReset(acknowledged=False))
    assert m.idle is not None
    m.apply(IdleTimerReset(acknowledged=True))
    assert m.idle is None
    m.apply(IdleWarningReceived(5, None, T0 + 35, at=T0 + 30))
    m.apply(ErrorRaised(make_error("session.idle_timeout")))
    assert m.idle is None and m.ended is not None and m.ended.reason == "idle timeout"


def test_usage_limit_blocks_input_and_stops_retry() -> None:
    m = MonitorModel()
    m.apply(SessionStateChanged(S.CONNECTING, S.CONNECTED))
    m.apply(RetryScheduled(1, 3, 1.0, T0 + 1, "reconnect"))
    m.apply(UsageLimitReached("monthly_minutes", "used up"))
    assert m.retry is None
    assert m.blocking is not None and "monthly_minutes" in m.blocking.title
    assert m.input_block_reason() is not None
    m.dismiss_blocking()
    assert m.blocking_dismissed and m.input_block_reason() is not None


def test_fatal_error_blocks() -> None:
    m = MonitorModel()
    m.apply(ErrorRaised(make_error("server.fatal_error", "pipeline crashed")))
    assert m.blocking is not None and m.blocking.kind == "fatal"
    assert m.blocking.detail == "pipeline crashed"


def test_a_new_connect_clears_the_end_and_the_block() -> None:
    m = MonitorModel()
    m.apply(UsageLimitReached("daily", None))
    m.apply(SessionEnded("usage limit"))
    m.apply(SessionStateChanged(S.DISCONNECTED, S.CONNECTING))
    assert m.blocking is None and m.ended is None


def test_error_counts_by_category() -> None:
    m = MonitorModel()
    for entry in CATALOGUE_ENTRIES:
        m.apply(ErrorRaised(make_error(entry.code)))
    assert sum(m.error_counts.values()) == len(CATALOGUE_ENTRIES) == len(m.errors)
    assert m.error_counts["connection"] == sum(
        1 for e in CATALOGUE_ENTRIES if e.category == "connection"
    )


def test_reconnect_is_counted() -> None:
    err = make_error("transport.signal_disconnected")
    m = MonitorModel()
    m.apply(ConnectAttemptStarted(1, 4, "connect"))
    m.apply(RoomJoined("room", "me", 10.0))
    m.apply(SessionStateChanged(S.CONNECTING, S.CONNECTED))
    m.apply(SessionStateChanged(S.CONNECTED, S.RECONNECTING, error=err))
    m.apply(RetryScheduled(1, 3, 0.5, T0, "reconnect", err, None))
    m.apply(ConnectAttemptStarted(1, 3, "reconnect"))
    m.apply(RoomJoined("room", "me", 10.0))
    m.apply(SessionStateChanged(S.RECONNECTING, S.CONNECTED))
    assert m.counters.reconnects == 1 and m.counters.successful_connections == 2


def test_participants_join_update_leave() -> None:
    m = MonitorModel()
    info = ParticipantInfo("u1", "One", "remote_player")
    m.apply(ParticipantJoined("u1", "One", "remote_player", info, at=T0))
    assert m.participants["u1"].change == "joined"
    muted = replace(info, muted=True)
    from convai_tui.core.api.events import ParticipantUpdated

    m.apply(ParticipantUpdated("u1", "One", "remote_player", muted, at=T0 + 1))
    assert m.participants["u1"].change == "updated" and m.participants["u1"].info.muted
    m.apply(ParticipantLeft("u1", "One", "remote_player", muted, at=T0 + 2))
    assert m.participants["u1"].left_at == T0 + 2


def test_reducer_is_fast() -> None:
    import time

    m = MonitorModel()
    events = [TranscriptReceived("user", f"line {i}", True, at=T0) for i in range(20_000)]
    started = time.perf_counter()
    m.apply_all(events)
    assert len(m.transcript) == 20_000
    assert time.perf_counter() - started < 1.0
