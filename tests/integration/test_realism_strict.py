"""Issue #16's "Done when", against the stand-in's strict profile (the default): our client
behaves as Convai's own clients do against a service as awkward as the real one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from convai_tui.core.api import events as ev
from convai_tui.core.api.states import SessionState
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.connect_options import ConnectOptions
from convai_tui.local.faults import Faults
from convai_tui.local.server import LocalStandIn
from convai_tui.local.sfu.server import LiveKitServer
from tests.integration.standin_client import (
    StandInFactory,
    connect,
    connect_and_join,
    require_livekit_server,
    standin_factory,
)
from tests.integration.test_controls_live import bot_of, cores, ready_core, until
from tests.integration.test_headless_cli import Server, run, server

pytestmark = [pytest.mark.integration, pytest.mark.serial]
__all__ = ["cores", "server", "standin_factory"]  # fixtures imported for pytest

ACTIONS = ConnectOptions(
    action_config={"actions": ["Wave"], "objects": [{"name": "cube", "description": "red"}]}
)


def _one_turn_shape(seen: list[ev.Event]) -> ev.TurnCompleted:
    """One user line, one character line, the action plan and emotion once, completed."""
    finals = [e for e in seen if isinstance(e, ev.TranscriptReceived) and e.final]
    assert [e.role for e in finals] == ["user", "character"], finals
    assert len([e for e in seen if isinstance(e, ev.ActionsReceived)]) == 1
    assert len([e for e in seen if isinstance(e, ev.EmotionReceived)]) == 1
    done = [e for e in seen if isinstance(e, ev.TurnCompleted)]
    assert len(done) == 1 and not done[0].was_interrupted and not done[0].was_aborted
    return done[0]


async def test_text_turn_one_line_each_with_speech_and_visemes(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    standin = await standin_factory(tts="tone")
    core, sub, seen = await ready_core(standin, cores, connect_options=ACTIONS)
    assert bot_of(standin, core).gate.answered[0] is not None  # answered our client-ready
    await core.send_text("go grab the cube")
    await until(sub, lambda e: isinstance(e, ev.TurnCompleted), seen)
    await asyncio.sleep(0.3)  # a repeated final (other punctuation) would come by now
    done = _one_turn_shape([*seen, *_drain(sub)])
    assert done.visemes > 0 and done.response_id and done.response_id.endswith(":r1")
    actions = next(e for e in seen if isinstance(e, ev.ActionsReceived))
    assert actions.actions == ("Wave → cube",)


async def test_server_metrics_reach_the_diagnostics_with_server_debug(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    standin = await standin_factory()
    core, sub, seen = await ready_core(standin, cores, connect_options=ConnectOptions(debug=True))
    await core.send_text("how fast are you?")
    metrics = await until(sub, lambda e: isinstance(e, ev.ServerMetricsReceived), seen)
    assert isinstance(metrics, ev.ServerMetricsReceived) and metrics.kind == "ttfb"
    assert core.diagnostics()["server_metrics"]["ttfb StandInLLMService#0"] >= 0
    # A JSON line type of its own (`metrics` was taken by our own counters).
    assert ev.ServerMetricsReceived.TYPE == "server_metrics"


async def test_voice_turn_one_line_each(cores: list[SessionCore]) -> None:
    from convai_tui.audio.dsp.synth import silence, white_noise
    from convai_tui.local.character.voice import make_voice_hook

    require_livekit_server()
    standin = LocalStandIn(
        faults=Faults(tts="none"),
        livekit=LiveKitServer(),
        owns_livekit=True,
        user_audio_hook=make_voice_hook("reply"),
    )
    await standin.start()
    source = rtc.AudioSource(48_000, 1)
    try:
        core, sub, seen = await ready_core(standin, cores, connect_options=ACTIONS)
        room = (
            transport.room if (transport := core._channel()) else None
        )  # test-only: our mic track
        assert room is not None
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        await room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        pcm = np.concatenate([white_noise(1.2, 0.1), silence(1.0)])
        for start in range(0, pcm.size, 480):
            await source.capture_frame(
                rtc.AudioFrame(pcm[start : start + 480].tobytes(), 48_000, 1, 480)
            )
        await until(sub, lambda e: isinstance(e, ev.TurnCompleted), seen)
        await asyncio.sleep(0.3)
        all_seen = [*seen, *_drain(sub)]
        _one_turn_shape(all_seen)
        interim = [
            e
            for e in all_seen
            if isinstance(e, ev.TranscriptReceived) and e.role == "user" and not e.final
        ]
        assert len(interim) >= 3  # interim results and segments updated the one live line
        user = next(
            e
            for e in all_seen
            if isinstance(e, ev.TranscriptReceived) and e.role == "user" and e.final
        )
        assert user.speaker  # participant_id names the speaker
    finally:
        await source.aclose()
        await standin.stop()


async def test_a_dropped_first_client_ready_is_made_good_by_the_resend(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    # A grace longer than the test: only an answered client-ready can bring bot-ready.
    standin = await standin_factory(drop_first_client_ready=True, bot_ready_grace_s=60.0)
    started = time.monotonic()
    core, _sub, seen = await ready_core(standin, cores)
    assert time.monotonic() - started < 10
    gate = bot_of(standin, core).gate
    assert gate.client_ready_seen >= 2
    assert len(gate.answered) == 1 and gate.answered[0] is not None  # the second's id
    assert any(isinstance(e, ev.BotReady) for e in seen)


async def test_a_labelled_convai_type_gets_an_error_response_and_its_ack(
    standin_factory: StandInFactory,
) -> None:
    standin = await standin_factory()
    _, client = await connect_and_join(standin)
    try:
        start = len(client.messages)
        await client.send(
            {"label": "rtvi-ai", "type": "tts-toggle", "id": "m-1", "data": {"enabled": True}}
        )
        _, error = await client.wait_for("error-response", start=start)
        assert error == {
            "label": "rtvi-ai",
            "type": "error-response",
            "id": "m-1",
            "data": {"error": "Unsupported type tts-toggle"},
        }
        assert (await client.wait_ack("tts-toggle", start=start))["status"] == "success"
        # The handshake itself is answered by bot-ready only, echoing the id.
        ready = [m for m in client.messages if m.get("type") == "bot-ready"]
        assert ready[0]["id"] in client.client_ready_ids
        assert not any(m.get("event_type") == "client-ready" for m in client.messages)
    finally:
        await client.close()


COMPLETE_TURN = [  # turn-lifecycle-and-message-ordering.md, "A complete turn" (bot part)
    "bot-llm-started",
    "bot-llm-text",
    "bot-llm-stopped",
    "action-response",
    "bot-emotion",
    "bot-tts-started",
    "bot-started-speaking",
    "visemes",
    "bot-stopped-speaking",
    "bot-turn-completed",
]


async def test_text_turn_follows_the_documented_complete_turn(
    standin_factory: StandInFactory,
) -> None:
    standin = await standin_factory(tts="tone")
    _, client = await connect_and_join(
        standin,
        action_config={"actions": ["Move To"], "objects": [{"name": "cube", "description": "red"}]},
        emotion_config={"provider": "llm"},
    )
    try:
        start = len(client.messages)
        await client.send({"type": "user_text_message", "data": {"text": "go grab the cube"}})
        done_index, done = await client.wait_for("bot-turn-completed", start=start)
        assert done["data"] == {"type": "bot-turn-completed", "was_interrupted": False}
        types = client.types(start)[: done_index - start + 1]
        wanted = iter(COMPLETE_TURN)
        expected: str | None = next(wanted)
        for message_type in types:  # the documented order, as a subsequence
            if message_type == expected:
                expected = next(wanted, None)
        assert expected is None, types
        assert types[0] == "server-response"  # the unlabelled message: no error-response
        assert "error-response" not in types
        finals = [
            m
            for m in client.messages[start:]
            if m.get("data", {}).get("type") == "final-user-transcription"
        ]
        assert [f["data"]["text"] for f in finals] == ["go grab the cube", "Go grab the cube"]
        speaking = [
            m
            for m in client.messages[start:]
            if m.get("data", {}).get("type") == "bot-started-speaking"
            or m.get("type") == "bot-started-speaking"
        ]
        assert len(speaking) == 2  # both forms
        wrapped = next(m for m in speaking if m["type"] == "server-message")
        assert wrapped["data"]["label"] == "rtvi-ai" and wrapped["data"]["response_id"]
        action = next(
            m for m in client.messages[start:] if m.get("data", {}).get("type") == "action-response"
        )
        assert action["data"]["actions"] == [{"name": "Move To", "target": "cube"}]
        # kill-pipeline: acked, and the slot is free at once (before the room goes).
        kill_start = len(client.messages)
        await client.send({"type": "kill-pipeline"})
        assert (await client.wait_ack("kill-pipeline", start=kill_start))["status"] == "success"
        assert standin.stats["active_sessions"] == []
    finally:
        await client.close()


async def test_quitting_frees_the_slot_for_the_next_client_within_a_second(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    standin = await standin_factory(concurrency_limit=1)
    core, _sub, _seen = await ready_core(standin, cores)
    status, _ = await connect(standin)
    assert status == 429  # the one slot is taken
    quit_at = time.monotonic()
    await core.disconnect("user")  # kill-pipeline, its ack, /disconnect, leave
    status, body = await connect(standin)
    assert status == 200, body
    assert time.monotonic() - quit_at < 1.0  # from quitting to the next client's slot
    assert any(
        s.end_reason in ("kill_pipeline", "disconnect") for s in standin.sessions.sessions.values()
    )


async def test_a_character_without_any_track_is_not_a_dead_link(
    standin_factory: StandInFactory, cores: list[SessionCore]
) -> None:
    standin = await standin_factory(publish_audio_track=False, withhold_bot_ready=True)
    core = SessionCore(_settings(standin, bot_ready_timeout_s=12.0))
    cores.append(core)
    sub = core.subscribe()
    seen: list[ev.Event] = []
    await core.start()
    await until(sub, lambda e: isinstance(e, ev.RoomJoined), seen)
    joined = time.monotonic()
    error = await until(sub, lambda e: isinstance(e, ev.ErrorRaised), seen, wait_s=20)
    assert isinstance(error, ev.ErrorRaised)
    assert error.error.code == "session.bot_ready_timeout"
    assert time.monotonic() - joined > 10
    reconnecting = [
        e
        for e in seen
        if isinstance(e, ev.SessionStateChanged) and e.new is SessionState.RECONNECTING
    ]
    assert reconnecting == []


def _settings(standin: LocalStandIn, **kw: Any) -> Any:
    from convai_tui.core.settings.session_settings import SessionSettings

    return SessionSettings(
        connect_url=standin.connect_url,
        api_key=standin.api_key,
        character_id=standin.character_id,
        **kw,
    )


def _drain(sub: Any) -> list[ev.Event]:
    out = []
    while (event := sub.get_nowait()) is not None:
        out.append(event)
    return out


# --- headless, as a user runs it -----------------------------------------------------------


def _headless(server: Server, tmp_path: Path, say: str) -> Any:
    result = run(server, tmp_path, "--say", say, "--say", "and now?", "--exit-after-reply")
    assert result.code == 0, result.stderr
    return result


def test_headless_moderation_ends_the_turn_and_the_next_say_goes(
    server: Server, tmp_path: Path
) -> None:
    result = _headless(server, tmp_path, "this is forbidden talk")
    verdicts = result.of("moderation")
    assert verdicts and verdicts[0]["passed"] is False
    assert verdicts[0]["reason"] == "Inappropriate language"
    assert len(result.of("turn_completed")) == 1  # the second --say was answered


def test_headless_llm_no_response(server: Server, tmp_path: Path) -> None:
    result = _headless(server, tmp_path, "please say nothing")
    declined = result.of("llm_no_response")
    assert declined and declined[0]["reason"] == "abstain"
    assert len(result.of("turn_completed")) == 1


def test_headless_aborted_turn(server: Server, tmp_path: Path) -> None:
    result = _headless(server, tmp_path, "abort this one")
    turns = result.of("turn_completed")
    assert turns[0]["was_aborted"] is True
    assert turns[0]["error_reason"] == "audio_delivery_failed"
    assert any(
        e["level"] == "warning" and "audio_delivery_failed" in e["message"]
        for e in result.of("log")
    )
