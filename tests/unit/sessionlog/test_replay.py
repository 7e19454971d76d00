"""Session logs read back: every event round-trips through its JSON form, and ReplaySession
publishes a log again at the recorded pace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest

from convai_tui.core.api import codec as event_json
from convai_tui.core.api import events as ev
from convai_tui.core.api import measurement_events
from convai_tui.core.api.states import SessionState as S
from convai_tui.core.errors.error import make_error
from convai_tui.sessionlog.replay import READ_ONLY_REASON, ReplaySession, load_log

T0 = 1_700_000_000.0
ERR = make_error(
    "connection.connect_concurrency_limit_reached",
    "limit",
    http_status=429,
    session_id="s-1",
    at=T0,
)
INFO = ev.ParticipantInfo(
    "char-1",
    "Ava",
    "character",
    sid="PA_1",
    muted=True,
    speaking=True,
    tracks=("voice (audio)",),
    quality="good",
)

SAMPLES: list[ev.Event] = [
    ev.SessionStateChanged(S.CONNECTING, S.ERROR, session_id="s-1", error=ERR, reason="r", at=T0),
    ev.ConnectAttemptStarted(attempt=1, max_attempts=4, phase="connect", at=T0),
    ev.RoomDetailsReceived(
        session_id="s-1",
        character_session_id="cs-1",
        room_name="room",
        room_url="ws://127.0.0.1:1",
        request_trace_id="req",
        connect_ms=12.5,
        at=T0,
    ),
    ev.RoomJoined(room_name="room", local_identity="me", join_ms=40.0, at=T0),
    ev.RetryScheduled(
        attempt=2,
        max_attempts=None,
        delay_s=1.0,
        due_at=T0 + 1,
        phase="waiting_room",
        error=ERR,
        waiting_since=T0,
        at=T0,
    ),
    ev.RetryCancelled(phase="connect", at=T0),
    ev.ErrorRaised(error=ERR, at=T0),
    ev.BotReady(participant_identity="char-1", since_connect_ms=300.0, at=T0),
    ev.SessionEnded(reason="user", error=ERR, at=T0),
    ev.TranscriptReceived(
        role="character", text="hi", final=False, full_text="hi", turn_id=1, at=T0
    ),
    ev.BotActivityChanged(activity="speaking", at=T0),
    ev.EmotionReceived(emotion="joy", scale=2, at=T0),
    ev.ActionsReceived(actions=("wave", "nod"), at=T0),
    ev.TurnCompleted(turn_id=1, was_interrupted=False, reply_text="hi", first_text_ms=80.0, at=T0),
    ev.LlmNoResponse(reason="empty", at=T0),
    ev.MessageSent(message_type="user_text_message", message_id="m-1", summary="hello", at=T0),
    ev.InputQueued(text="early", queue_length=1, at=T0),
    ev.InputRefused(text="late", reason="ended", at=T0),
    ev.ServerResponseReceived(
        event_type="context-update",
        status="success",
        message=None,
        extras={"remaining_tokens": 10},
        message_id="m-2",
        at=T0,
    ),
    ev.IdleWarningReceived(remaining_seconds=30, message="still there?", deadline=T0 + 30, at=T0),
    ev.IdleTimerReset(acknowledged=True, at=T0),
    ev.UsageLimitReached(quota_type="minutes", message="out", at=T0),
    ev.SessionEnding(reason="idle_timeout", at=T0),
    ev.participant_event(ev.ParticipantJoined, INFO),
    ev.participant_event(ev.ParticipantLeft, INFO),
    ev.participant_event(ev.ParticipantUpdated, INFO),
    ev.AudioLevels(mic_dbfs=-20.0, speaker_dbfs=None, muted=False, at=T0),
    ev.ParticipantLevels(levels={"demo-bo": -21.5}, speaking=("demo-bo",), at=T0),
    ev.AudioProblemCleared(code="audio.playback_dropping", at=T0),
    ev.LogRecorded(level="warning", category="server", message="x", at=T0),
    ev.TurnCompleted(
        turn_id=2,
        was_interrupted=False,
        reply_text="",
        was_aborted=True,
        error_reason="audio_delivery_failed",
        response_id="s:r4",
        sequence=3,
        visemes=12,
        blendshapes=0,
        at=T0,
    ),
    ev.ModerationResult(passed=False, user_input="bad", reason="Inappropriate language", at=T0),
    ev.ServerNotice(message_type="vad-stt-started", fields={"pre_roll_ms": 1500}, at=T0),
    ev.ServerNotice(message_type="brand-new-type", known=False, at=T0),
    ev.ServerMetricsReceived(kind="ttfb", entries=({"processor": "llm#0", "value": 0.41},), at=T0),
    ev.LinkStatsSampled(
        rtt_ms=20.0, loss_pct=0.5, candidate="host/udp", warnings=("RTT 400 ms > 300 ms",), at=T0
    ),
    ev.TurnTimed(turn=1, sent_to_first_text_ms=300.0, at=T0),
]


def test_samples_cover_every_event_type() -> None:
    modules = {ev.__name__, measurement_events.__name__}
    defined_here = {c for c in ev.EVENT_CLASSES.values() if c.__module__ in modules}
    assert {type(e) for e in SAMPLES} == defined_here
    assert all(ev.EVENT_CLASSES[c.TYPE] is c for c in defined_here)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.TYPE)
def test_json_fields_name_the_keys_of_the_line(event: ev.Event) -> None:
    keys = [k for k in event.to_json() if k not in ("type", "ts")]
    declared = [k for k in type(event).json_fields() if k in keys or k != "membership_id"]
    assert keys == declared


def test_the_room_events_register_and_decode_through_the_codec() -> None:
    from convai_tui.core.multi.events import InteractionTargetChanged

    event = InteractionTargetChanged(previous=None, current="m2", route_epoch=3, at=T0)
    wire = json.loads(json.dumps(event.to_json()))
    assert ev.EVENT_CLASSES["interaction_target_changed"] is InteractionTargetChanged
    assert event_json.event_from_json(wire) == event


def test_a_second_class_with_a_taken_type_is_refused() -> None:
    with pytest.raises(TypeError, match="both"):

        class _Clash(ev.Event):
            TYPE: ClassVar[str] = "transcript"


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.TYPE)
def test_every_event_round_trips_through_json(event: ev.Event) -> None:
    wire = json.loads(json.dumps(event.to_json()))
    back = event_json.event_from_json(wire)
    assert type(back) is type(event)
    assert back is not None and back.to_json() == wire


def test_reconstructed_errors_and_states_are_typed() -> None:
    back = event_json.event_from_json(json.loads(json.dumps(SAMPLES[0].to_json())))
    assert isinstance(back, ev.SessionStateChanged)
    assert back.new is S.ERROR and back.error is not None
    assert back.error.code == ERR.code and back.error.http_status == 429
    assert back.error.stage is ERR.stage and back.error.at == T0
    participant = event_json.event_from_json(SAMPLES[23].to_json())
    assert isinstance(participant, ev.ParticipantJoined)
    assert participant.participant.tracks == ("voice (audio)",) and participant.participant.muted


def test_unknown_types_are_none_and_malformed_known_types_raise() -> None:
    assert event_json.event_from_json({"type": "from_the_future", "ts": T0}) is None
    with pytest.raises(ValueError, match="malformed transcript"):
        event_json.event_from_json({"type": "transcript", "ts": T0, "role": "user"})
    with pytest.raises(ValueError):
        event_json.event_from_json(
            {"type": "state_changed", "ts": T0, "old": "nope", "new": "error"}
        )


def write_log(path: Path, events: list[ev.Event], extra: list[str] = ()) -> Path:  # type: ignore[assignment]
    lines = [json.dumps(e.to_json()) for e in events] + list(extra)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def conversation(t0: float = T0) -> list[ev.Event]:
    return [
        ev.SessionStateChanged(S.DISCONNECTED, S.CONNECTING, at=t0),
        ev.ConnectAttemptStarted(attempt=1, max_attempts=4, at=t0 + 0.1),
        ev.RoomDetailsReceived(
            session_id="s-1",
            character_session_id="cs",
            room_name="room",
            room_url="ws://127.0.0.1:1",
            request_trace_id=None,
            connect_ms=10.0,
            at=t0 + 0.2,
        ),
        ev.RoomJoined(room_name="room", local_identity="me", join_ms=5.0, at=t0 + 0.3),
        ev.SessionStateChanged(S.CONNECTING, S.CONNECTED, session_id="s-1", at=t0 + 0.3),
        ev.ParticipantJoined(
            identity=INFO.identity, name=INFO.name, kind=INFO.kind, participant=INFO, at=t0 + 0.5
        ),
        ev.TranscriptReceived(
            role="user", text="hello", final=True, full_text="hello", at=t0 + 1.0
        ),
        ev.ErrorRaised(error=make_error("server.error", "hiccup", at=t0 + 1.5), at=t0 + 1.5),
        ev.TranscriptReceived(
            role="character", text="Hi!", final=True, full_text="Hi!", at=t0 + 2.0
        ),
    ]


def test_load_log_counts_what_it_skips(tmp_path: Path) -> None:
    path = write_log(
        tmp_path / "s.jsonl",
        conversation(),
        [
            '{"type": "from_the_future", "ts": 1}',
            "not json",
            "[1, 2]",
            '{"type": "transcript", "ts": 1}',
            "",
        ],
    )
    log = load_log(path)
    assert len(log.events) == 9
    assert log.unknown_types == 1 and log.malformed_lines == 3
    assert "1 of unknown types skipped" in log.summary()


async def test_fast_replay_publishes_everything_in_order(tmp_path: Path) -> None:
    events = conversation()
    session = ReplaySession.from_file(write_log(tmp_path / "s.jsonl", events), speed=0)
    assert session.info.character_id == "char-1"
    sub = session.subscribe()
    await session.finished.wait()
    got = []
    while (event := sub.get_nowait()) is not None:
        got.append(event)
    assert [e.to_json() for e in got] == [e.to_json() for e in events]
    assert session.state is S.CONNECTED
    assert (await session.send_text("hi")).reason == READ_ONLY_REASON
    assert (await session.send_control("trigger-message", {})).status == "refused"
    diag = session.diagnostics()
    assert diag["connect_attempts"] == 1 and diag["successful_connections"] == 1
    assert diag["errors"] == 1 and diag["last_error_code"] == "server.error"
    assert diag["room"]["session_id"] == "s-1"
    assert diag["participants"][0]["kind"] == "character"
    assert diag["replay"]["published"] == len(events)
    await session.close()


async def test_replay_keeps_the_recorded_gaps_divided_by_speed(tmp_path: Path) -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    log = load_log(write_log(tmp_path / "s.jsonl", conversation()))
    session = ReplaySession(log, speed=2.0, sleep=sleep, monotonic=lambda: now[0])
    assert session.clock() == T0
    await session.play()
    assert round(sum(slept), 6) == 1.0  # 2 s of recorded time at double speed
    assert session.clock() == pytest.approx(T0 + 2.0)
    assert session.published == 9


def test_negative_speed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ReplaySession(load_log(write_log(tmp_path / "s.jsonl", [])), speed=-1)
