"""The strict profile's handshake and RTVI-layer rules (local/character/realism.py) without LiveKit."""

from __future__ import annotations

import asyncio
from typing import Any

from convai_tui.local.character import rtvi
from convai_tui.local.character.realism import BotReadyGate, error_response, sends_client_ready
from convai_tui.local.character.turns import other_punctuation
from convai_tui.local.faults import Faults


def _gate(
    client_ready_expected: bool = True, **faults: Any
) -> tuple[BotReadyGate, list[tuple[dict[str, Any], str | None]]]:
    sent: list[tuple[dict[str, Any], str | None]] = []

    async def send(body: dict[str, Any], to: str | None) -> None:
        sent.append((body, to))

    gate = BotReadyGate(Faults(**faults), send, client_ready_expected=client_ready_expected)
    return gate, sent


def _ready(message_id: str) -> rtvi.ClientMessage:
    return rtvi.ClientMessage("client-ready", {"version": "1.2.0"}, message_id, labelled=True)


async def test_strict_answers_client_ready_once_echoing_its_id() -> None:
    gate, sent = _gate(bot_ready_grace_s=0)
    await gate.greeted("user-1")
    assert sent == []  # strict: no unsolicited bot-ready
    await gate.client_ready(_ready("a1"), "user-1")
    await gate.client_ready(_ready("a2"), "user-1")
    assert [(b["type"], b["id"], to) for b, to in sent] == [("bot-ready", "a1", "user-1")]
    assert gate.client_ready_seen == 2 and gate.answered == ["a1"]


async def test_a_dropped_first_client_ready_is_answered_on_the_resend() -> None:
    gate, sent = _gate(bot_ready_grace_s=0, drop_first_client_ready=True)
    await gate.client_ready(_ready("a1"), "user-1")
    assert sent == []
    await gate.client_ready(_ready("a2"), "user-1")
    assert sent[0][0]["id"] == "a2"


async def test_without_client_ready_the_grace_sends_bot_ready_for_the_web_sdk() -> None:
    gate, sent = _gate(bot_ready_grace_s=0.05)
    await gate.greeted("user-1")
    await asyncio.sleep(0.15)
    assert len(sent) == 1 and "id" not in sent[0][0] and gate.answered == [None]


async def test_a_client_that_sends_no_client_ready_gets_bot_ready_when_greeted() -> None:
    gate, sent = _gate(client_ready_expected=False, bot_ready_grace_s=60)
    await gate.greeted("user-1")
    assert [(b["type"], "id" in b, to) for b, to in sent] == [("bot-ready", False, "user-1")]
    await gate.client_ready(_ready("a1"), "user-1")  # a late one is not answered twice
    assert len(sent) == 1 and gate.answered == [None]


def test_only_the_web_sdks_connect_body_is_taken_to_send_no_client_ready() -> None:
    web_sdk = {  # @convai/web-sdk 1.2.0's ConvaiClient.connect() body
        "character_id": "c",
        "transport": "livekit",
        "connection_type": "audio",
        "blendshape_provider": "none",
        "blendshape_config": {"enable_chunking": True, "chunk_size": 10, "output_fps": 90},
        "llm_provider": "dynamic",
        "default_tts_enabled": True,
    }
    assert not sends_client_ready(web_sdk)
    ours = {k: v for k, v in web_sdk.items() if k != "blendshape_config"}
    ours["invocation_metadata"] = {"source": "convai-tui", "client_version": "0"}
    assert sends_client_ready(ours)
    assert sends_client_ready({**web_sdk, "invocation_metadata": {"source": "tests"}})
    assert sends_client_ready({})


async def test_withheld_and_lenient() -> None:
    gate, sent = _gate(withhold_bot_ready=True, bot_ready_grace_s=0)
    await gate.client_ready(_ready("a1"), "user-1")
    assert sent == []
    lenient, sent = _gate(realism="lenient")
    await lenient.greeted("user-1")
    assert sent[0][0] == {
        "label": "rtvi-ai",
        "type": "bot-ready",
        "data": {"version": "1.0.0", "about": {"library": "convai-tui-standin"}},
    }


def test_error_response_only_for_labelled_unknown_types_with_an_id() -> None:
    labelled = rtvi.ClientMessage("user_text_message", {"text": "hi"}, "m-1", labelled=True)
    assert error_response(labelled) == {
        "label": "rtvi-ai",
        "type": "error-response",
        "id": "m-1",
        "data": {"error": "Unsupported type user_text_message"},
    }
    assert error_response(rtvi.ClientMessage("user_text_message", {}, "m-1")) is None
    assert error_response(_ready("c-1")) is None


def test_the_repeated_final_differs_only_in_punctuation_and_case() -> None:
    from convai_tui.core.conversation.user_lines import normalized

    for text in ("Hello there.", "hello there", "x"):
        repeat = other_punctuation(text)
        assert repeat != text and normalized(repeat) == normalized(text)
