"""The stand-in bot's RTVI behaviour: greeting, acks, text turns, interrupt, speech."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from convai_tui.local.character.rtvi import MAX_PACKET_BYTES, SUPPORTED_TYPES
from convai_tui.local.server import LocalStandIn
from tests.integration.standin_client import (
    RtviTestClient,
    StandInFactory,
    ack_body,
    clients,
    connect,
    connect_and_join,
    standin,
    standin_factory,
)

pytestmark = [pytest.mark.integration, pytest.mark.serial]
__all__ = ["clients", "standin", "standin_factory"]  # fixtures imported for pytest


async def test_greeting_is_interaction_created_then_bot_ready(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    # The lenient profile's greeting (the strict one: tests/integration/test_realism_strict.py).
    standin = await standin_factory(realism="lenient")
    status, response = await connect(standin)
    assert status == 200
    client = await RtviTestClient.join(response["room_url"], response["token"])
    clients.append(client)
    await client.wait_for("bot-ready")  # unsolicited: no client-ready sent
    first = client.messages[0]
    assert first["label"] == "rtvi-ai" and first["type"] == "server-message"
    assert first["data"]["type"] == "interaction-created"
    assert first["data"]["interaction_id"].startswith("int_")
    assert first["data"]["character_session_id"] == response["character_session_id"]
    ready = client.messages[1]
    assert ready == {
        "label": "rtvi-ai",
        "type": "bot-ready",
        "data": {"version": "1.0.0", "about": {"library": "convai-tui-standin"}},
    }
    # client-ready is acked and answered with bot-ready again.
    start = len(client.messages)
    await client.send({"type": "client-ready", "data": {"version": "1.2.0"}})
    await client.wait_for("bot-ready", start=start)
    assert (await client.wait_ack("client-ready", start=start))["status"] == "success"


TURN_SEQUENCE = [
    "server-response",
    "user-started-speaking",
    "user-transcription",
    "user-stopped-speaking",
    "final-user-transcription",
    "bot-llm-started",
    "bot-llm-text",
    "bot-llm-stopped",
    "bot-emotion",
    "bot-tts-started",
    "bot-started-speaking",
    "bot-stopped-speaking",
    "bot-turn-completed",
]


def _in_order(types: list[str | None], expected: list[str]) -> bool:
    position = 0
    for message_type in types:
        if position < len(expected) and message_type == expected[position]:
            position += 1
    return position == len(expected)


async def test_text_turn_emits_the_documented_sequence_and_quotes_the_user(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(tts="tone", realism="lenient")  # strict: test_realism_strict
    _, client = await connect_and_join(standin)
    clients.append(client)
    start = len(client.messages)
    sent_at = time.monotonic()
    message_id = str(uuid.uuid4())
    await client.send(
        {
            "label": "rtvi-ai",
            "type": "user_text_message",
            "id": message_id,
            "data": {"text": "hello there"},
        }
    )
    done_index, done = await client.wait_for("bot-turn-completed", start=start)
    assert done["data"]["was_interrupted"] is False
    types = client.types(start)[: done_index - start + 1]
    assert _in_order(types, TURN_SEQUENCE), types
    assert types[0] == "server-response"
    assert ack_body(client.messages[start]) == {
        "type": "server-response",
        "event_type": "user_text_message",
        "status": "success",
        "message": "User text message processed",
        "extras": {"text": "hello there"},
    }
    # Forms: Pipecat user events and llm/tts events top-level, the rest wrapped.
    by_type = {message_type: client.messages[start + i] for i, message_type in enumerate(types)}
    for top_level in (
        "user-started-speaking",
        "user-transcription",
        "bot-llm-started",
        "bot-llm-text",
        "bot-tts-started",
    ):
        assert by_type[top_level]["type"] == top_level
    for wrapped in (
        "final-user-transcription",
        "bot-emotion",
        "bot-started-speaking",
        "bot-stopped-speaking",
        "bot-turn-completed",
    ):
        assert by_type[wrapped]["type"] == "server-message"
    transcription = by_type["user-transcription"]["data"]
    assert transcription["text"] == "hello there" and transcription["final"] is True
    assert transcription["user_id"] == client.identity and transcription["timestamp"]
    assert by_type["final-user-transcription"]["data"]["text"] == "hello there"
    assert by_type["final-user-transcription"]["data"]["message_id"] == message_id
    emotion = by_type["bot-emotion"]["data"]
    assert isinstance(emotion["emotion"], str) and 1 <= emotion["scale"] <= 3
    chunks = [
        client.messages[start + i]["data"]["text"]
        for i, t in enumerate(types)
        if t == "bot-llm-text"
    ]
    assert len(chunks) > 3
    reply = "".join(chunks)
    assert '"hello there"' in reply
    first_chunk_index = start + types.index("bot-llm-text")
    assert client.received_at[first_chunk_index] - sent_at < 0.5  # benchmarked separately
    # The first turn also carries an action, as objects.
    action = next(
        m for m in client.messages[start:] if m.get("data", {}).get("type") == "action-response"
    )
    assert action["data"]["actions"] == [{"name": "wave"}]


async def test_every_registry_type_gets_exactly_one_ack(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    _, client = await connect_and_join(standin)
    clients.append(client)
    payloads: dict[str, Any] = {
        "trigger-message": {"trigger_name": "greet"},
        "update-template-keys": {"template_keys": {"player": "Sam"}},
        "update-scene-metadata": {"scene_metadata": [{"name": "door", "description": "red"}]},
        "update-dynamic-info": {"dynamic_info": {"text": "It is raining"}},
        "context-update": {
            "text": "one two three four five six seven eight nine ten",
            "mode": "append",
            "update_id": "u1",
        },
        "tts-toggle": {"enabled": False},
        "stt-toggle": {"muted": True},
        "interrupt-bot": {},
        "force-user-stopped-speaking": {},
        "reset-idle-timer": {},
        "user_text_message": {"text": "hi"},
    }
    assert set(payloads) | {"kill-pipeline"} == set(SUPPORTED_TYPES)
    start = len(client.messages)
    # Mix the documented envelopes: flat, labelled with id, WSDK participant_sid, wrapper.
    envelopes: list[Callable[[str, dict[str, Any]], dict[str, Any]]] = [
        lambda t, d: {"type": t, "data": d},
        lambda t, d: {"label": "rtvi-ai", "type": t, "id": str(uuid.uuid4()), "data": d},
        lambda t, d: {"type": t, "data": {**d, "participant_sid": "PA_x"}},
        lambda t, d: {"type": "client-message", "data": {"t": t, "d": d}},
    ]
    for index, (message_type, data) in enumerate(payloads.items()):
        await client.send(envelopes[index % len(envelopes)](message_type, data))
    acks: dict[str, dict[str, Any]] = {}
    for message_type in payloads:
        acks[message_type] = await client.wait_ack(message_type, start=start)
    await client.wait_for("bot-turn-completed", start=start)
    await asyncio.sleep(0.3)
    all_acks = [
        ack_body(m) for m in client.messages[start:] if ack_body(m).get("type") == "server-response"
    ]
    assert sorted(a["event_type"] for a in all_acks) == sorted(payloads)
    assert all(a["status"] == "success" for a in all_acks), all_acks
    assert acks["tts-toggle"]["message"] == "TTS disabled"
    assert acks["tts-toggle"]["extras"] == {"enabled": False}
    assert acks["stt-toggle"]["extras"] == {"muted": True}
    assert acks["trigger-message"]["extras"]["trigger_name"] == "greet"
    context = acks["context-update"]["extras"]
    assert context["max_tokens"] == 50000 and context["token_count"] == 13
    assert context["remaining_tokens"] == 50000 - 13 and context["update_id"] == "u1"

    # The context token count moves with more text and resets.
    start = len(client.messages)
    await client.send({"type": "context-update", "data": {"text": "a b c", "mode": "append"}})
    assert (await client.wait_ack("context-update", start=start))["extras"]["token_count"] == 17
    start = len(client.messages)
    await client.send({"type": "context-update", "data": {"mode": "reset"}})
    assert (await client.wait_ack("context-update", start=start))["extras"]["token_count"] == 0

    start = len(client.messages)
    await client.send({"type": "update-dynamic-info", "data": {"dynamic_info": {}}})
    ack = await client.wait_ack("update-dynamic-info", start=start)
    assert ack["status"] == "error" and ack["message"] == "No text provided in dynamic info"

    start = len(client.messages)
    await client.send({"type": "tts-toggle", "data": {"enabled": True}})
    assert (await client.wait_ack("tts-toggle", start=start))["message"] == "TTS enabled"


async def test_unknown_trigger_names_are_acked_and_ignored_known_ones_answered(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    _, client = await connect_and_join(standin)
    clients.append(client)
    start = len(client.messages)
    await client.send({"type": "trigger-message", "data": {"trigger_name": "no-such-trigger"}})
    ack = await client.wait_ack("trigger-message", start=start)
    assert ack["message"] == "Trigger message processed without response"
    assert ack["extras"]["trigger_name"] == "no-such-trigger"
    await asyncio.sleep(0.5)
    assert "bot-llm-started" not in client.types(start)

    start = len(client.messages)
    await client.send({"type": "trigger-message", "data": {"trigger_name": "greet"}})
    assert (await client.wait_ack("trigger-message", start=start))["message"] == (
        "Trigger message processed"
    )
    await client.wait_for("bot-turn-completed", start=start)

    # A trigger message is answered whatever the name.
    start = len(client.messages)
    await client.send(
        {
            "type": "trigger-message",
            "data": {"trigger_name": "no-such-trigger", "trigger_message": "wave"},
        }
    )
    await client.wait_for("bot-turn-completed", start=start)


async def test_context_update_answers_only_when_run_llm_is_true(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    _, client = await connect_and_join(standin)
    clients.append(client)
    for run_llm in ("false", "auto"):
        start = len(client.messages)
        await client.send(
            {
                "type": "context-update",
                "data": {"text": "it is late", "mode": "append", "run_llm": run_llm},
            }
        )
        extras = (await client.wait_ack("context-update", start=start))["extras"]
        assert extras["requested_run_llm"] == run_llm
        assert extras["actual_run_llm"] is False and extras["llm_triggered"] is False
        assert ("downgrade_reason" in extras) == (run_llm == "auto")
        await asyncio.sleep(0.5)
        assert "bot-llm-started" not in client.types(start)

    start = len(client.messages)
    await client.send(
        {
            "type": "context-update",
            "data": {"text": "it is late", "mode": "append", "run_llm": "true"},
        }
    )
    extras = (await client.wait_ack("context-update", start=start))["extras"]
    assert extras["actual_run_llm"] is True and extras["llm_triggered"] is True
    await client.wait_for("bot-turn-completed", start=start)

    start = len(client.messages)
    await client.send(
        {"type": "context-update", "data": {"text": "x", "mode": "append", "run_llm": "sometimes"}}
    )
    ack = await client.wait_ack("context-update", start=start)
    assert ack["status"] == "error" and "run_llm" in ack["message"]


async def test_protocol_error_acks(standin: LocalStandIn, clients: list[RtviTestClient]) -> None:
    _, client = await connect_and_join(standin)
    clients.append(client)
    start = len(client.messages)
    await client.send(b"{definitely not json")
    parse = await client.wait_ack("parse-error", start=start)
    assert parse == {
        "type": "server-response",
        "event_type": "parse-error",
        "status": "error",
        "message": "Failed to parse message: invalid JSON or UTF-8 encoding",
    }
    await client.send({"data": {"text": "no type"}})
    validation = await client.wait_ack("validation-error", start=start)
    assert validation["message"] == "Message missing required 'type' field"
    assert validation["extras"]["received_message"] == {"data": {"text": "no type"}}
    await client.send({"type": "dance", "data": {}})
    unknown = await client.wait_ack("dance", start=start)
    assert unknown["status"] == "error"
    assert unknown["message"] == "Unknown message type: dance"
    assert unknown["extras"]["supported_types"] == list(SUPPORTED_TYPES)


async def test_wrapped_response_form(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(response_form="wrapped")
    _, client = await connect_and_join(standin)
    clients.append(client)
    start = len(client.messages)
    await client.send({"type": "reset-idle-timer"})
    _, message = await client.wait_for("server-response", start=start)
    assert message["type"] == "server-message" and message["label"] == "rtvi-ai"
    assert message["data"]["event_type"] == "reset-idle-timer"
    assert message["data"]["status"] == "success"


async def test_interrupt_mid_turn_ends_with_was_interrupted(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(tts="espeak")
    _, client = await connect_and_join(standin)
    clients.append(client)
    start = len(client.messages)
    await client.send(
        {"type": "user_text_message", "data": {"text": "please tell me a long story about the sea"}}
    )
    await client.wait_for("bot-started-speaking", start=start)
    interrupted_at = time.monotonic()
    await client.send({"type": "interrupt-bot"})
    ack = await client.wait_ack("interrupt-bot", start=start)
    assert ack["status"] == "success"
    _, done = await client.wait_for("bot-turn-completed", start=start)
    assert done["data"]["was_interrupted"] is True
    # espeak speech of that reply lasts seconds; the interrupt cut it short.
    assert time.monotonic() - interrupted_at < 1.5
    types = client.types(start)
    assert types.index("bot-stopped-speaking") < types.index("bot-turn-completed")


async def test_espeak_speech_reaches_the_client_as_audio(
    standin_factory: StandInFactory, clients: list[RtviTestClient]
) -> None:
    standin = await standin_factory(tts="espeak")
    _, client = await connect_and_join(standin)
    clients.append(client)
    track_ready: asyncio.Future[rtc.RemoteAudioTrack] = asyncio.get_running_loop().create_future()

    def on_track(
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if isinstance(track, rtc.RemoteAudioTrack) and not track_ready.done():
            assert publication.name == "character-voice"
            track_ready.set_result(track)

    client.room.on("track_subscribed", on_track)
    for publication in (
        p
        for participant in client.room.remote_participants.values()
        for p in participant.track_publications.values()
    ):
        if isinstance(publication.track, rtc.RemoteAudioTrack) and not track_ready.done():
            track_ready.set_result(publication.track)
    track = await asyncio.wait_for(track_ready, 10)
    stream = rtc.AudioStream(track, sample_rate=48000, num_channels=1)
    peak = 0

    async def measure() -> None:
        nonlocal peak
        async for event in stream:
            samples = np.frombuffer(event.frame.data, dtype=np.int16)
            peak = max(peak, int(np.abs(samples).max(initial=0)))
            if peak > 2000:
                return

    measuring = asyncio.ensure_future(measure())
    start = len(client.messages)
    await client.send({"type": "user_text_message", "data": {"text": "hi"}})
    await client.wait_for("bot-started-speaking", start=start)
    try:
        await asyncio.wait_for(measuring, 8)
    finally:
        measuring.cancel()
        await stream.aclose()
    assert peak > 2000


async def test_huge_text_is_echoed_within_the_packet_limit(
    standin: LocalStandIn, clients: list[RtviTestClient]
) -> None:
    _, client = await connect_and_join(standin)
    clients.append(client)
    start = len(client.messages)
    text = "word " * 2900  # about 14.5 kB: fits one client packet, not our wrapped echo
    await client.send({"type": "user_text_message", "data": {"text": text}})
    await client.wait_for("bot-turn-completed", start=start, within=30)
    assert all(len(raw) <= MAX_PACKET_BYTES for raw in client.raw)
    assert all(json.loads(raw) for raw in client.raw[start:])


async def test_voice_turns_stop_while_stt_is_muted(clients: list[RtviTestClient]) -> None:
    from convai_tui.audio.dsp.synth import silence, white_noise
    from convai_tui.local.character.voice import make_voice_hook
    from convai_tui.local.faults import Faults
    from convai_tui.local.sfu.server import LiveKitServer
    from tests.integration.standin_client import require_livekit_server

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
        _, client = await connect_and_join(standin)
        clients.append(client)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        await client.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )

        async def speak(noise_s: float = 0.6, then_silence_s: float = 1.0) -> None:
            """Noise at -20 dBFS, then silence, in real time (the queued source paces it)."""
            pcm = np.concatenate([white_noise(noise_s, 0.1), silence(then_silence_s)])
            for start in range(0, pcm.size, 480):
                chunk = pcm[start : start + 480]
                await source.capture_frame(rtc.AudioFrame(chunk.tobytes(), 48_000, 1, 480))

        async def set_muted(muted: bool) -> None:
            start = len(client.messages)
            await client.send({"type": "stt-toggle", "data": {"muted": muted}})
            assert (await client.wait_ack("stt-toggle", start=start))["extras"] == {"muted": muted}

        # Heard while listening: this also proves the stand-in is subscribed to the track.
        start = len(client.messages)
        await speak()
        await client.wait_for("final-user-transcription", start=start)
        await client.wait_for("bot-turn-completed", start=start)

        await set_muted(True)
        start = len(client.messages)
        await speak()
        await asyncio.sleep(0.5)
        heard = client.types(start)
        assert "user-started-speaking" not in heard and "final-user-transcription" not in heard

        # Muted mid-utterance: the utterance ends unheard, the speaking indicator is closed.
        await set_muted(False)
        start = len(client.messages)
        speaking = asyncio.ensure_future(speak(noise_s=2.0, then_silence_s=0.5))
        await client.wait_for("user-started-speaking", start=start)
        await set_muted(True)
        await speaking
        await asyncio.sleep(0.5)
        heard = client.types(start)
        assert "user-stopped-speaking" in heard and "vad-stt-stopped" in heard
        assert "final-user-transcription" not in heard and "bot-llm-started" not in heard
    finally:
        await source.aclose()
        await standin.stop()
