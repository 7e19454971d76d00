"""The stand-in character's validate-and-ack handlers, without a LiveKit server: for every client
message type, what the ack says on accept and on refuse, and what the bot is told to do next."""

from __future__ import annotations

import json
from typing import Any

import pytest

from convai_tui.local.character import rtvi
from convai_tui.local.character.client_messages import (
    CONTEXT_MAX_TOKENS,
    INTERRUPT_DEBOUNCE_S,
    RUNTIME_MAX_TOKENS,
    Ack,
    BotView,
    CharacterProfile,
    ConversationState,
    EndSession,
    ForceUserStopped,
    InterruptTurn,
    Outcome,
    SendBotReady,
    StartTurn,
    compose_reply,
    handle_client_packet,
)

PROFILE = CharacterProfile("char-1", "Ada", frozenset({"greet"}))


def view(*, speaking: bool = False, now: float = 1000.0) -> BotView:
    return BotView(profile=PROFILE, room_name="room-1", speaking=speaking, now=now)


def handle(
    state: ConversationState,
    message_type: str,
    data: Any = None,
    *,
    bot: BotView | None = None,
    **envelope: Any,
) -> Outcome:
    packet = {"type": message_type, **envelope}
    if data is not None:
        packet["data"] = data
    return handle_client_packet(state, json.dumps(packet).encode(), bot or view())


def refused(message_type: str, text: str) -> Outcome:
    return Outcome(Ack(message_type, "error", text))


# -- envelope-level answers ---------------------------------------------------------------------
def test_not_json_is_a_parse_error() -> None:
    outcome = handle_client_packet(ConversationState(), b"{nope", view())
    assert outcome == Outcome(Ack("parse-error", "error", rtvi.PARSE_ERROR_MESSAGE))


def test_json_without_a_type_is_a_validation_error_quoting_the_packet() -> None:
    outcome = handle_client_packet(ConversationState(), b'{"data": {"text": "hi"}}', view())
    assert outcome == Outcome(
        Ack(
            "validation-error",
            "error",
            rtvi.MISSING_TYPE_MESSAGE,
            {"received_message": {"data": {"text": "hi"}}},
        )
    )


def test_client_ready_is_acked_then_answered_with_bot_ready() -> None:
    outcome = handle(ConversationState(), "client-ready")
    assert outcome == Outcome(Ack("client-ready", "success", "Client ready"), SendBotReady())


def test_the_bot_ready_answering_a_client_ready_echoes_its_id() -> None:
    outcome = handle(ConversationState(), "client-ready", {}, id="cr-7")
    assert outcome.then == SendBotReady("cr-7")


def test_an_unknown_type_lists_the_supported_ones() -> None:
    outcome = handle(ConversationState(), "make-coffee", {})
    assert outcome == Outcome(
        Ack(
            "make-coffee",
            "error",
            "Unknown message type: make-coffee",
            {"supported_types": list(rtvi.SUPPORTED_TYPES)},
        )
    )


@pytest.mark.parametrize("message_type", rtvi.SUPPORTED_TYPES)
def test_every_supported_type_is_refused_after_the_usage_limit(message_type: str) -> None:
    state = ConversationState(usage_limit_hit=True)
    assert handle(state, message_type, {}) == refused(message_type, "Usage limit exceeded")


@pytest.mark.parametrize("message_type", rtvi.SUPPORTED_TYPES)
def test_every_supported_type_needs_object_data(message_type: str) -> None:
    assert handle(ConversationState(), message_type, ["not", "an", "object"]) == refused(
        message_type, f"Failed to process {message_type}: data must be an object"
    )


def test_the_client_message_envelope_is_unwrapped() -> None:
    state = ConversationState()
    outcome = handle(state, "client-message", {"t": "tts-toggle", "d": {"enabled": False}})
    assert outcome.ack == Ack("tts-toggle", "success", "TTS disabled", {"enabled": False})
    assert state.tts_enabled is False


# -- user_text_message ----------------------------------------------------------------------------
def test_user_text_starts_a_turn_that_echoes_it() -> None:
    outcome = handle(
        ConversationState(), "user_text_message", {"text": "hello", "message_id": "m-1"}
    )
    assert outcome == Outcome(
        Ack("user_text_message", "success", "User text message processed", {"text": "hello"}),
        StartTurn(compose_reply("hello"), echo_text="hello", message_id="m-1"),
    )


def test_user_text_takes_the_envelope_id_when_data_has_none() -> None:
    outcome = handle(ConversationState(), "user_text_message", {"text": "hi"}, id="env-7")
    assert outcome.then == StartTurn(compose_reply("hi"), echo_text="hi", message_id="env-7")


@pytest.mark.parametrize("data", [{}, {"text": "   "}, {"text": 5}])
def test_user_text_without_text_is_refused(data: dict[str, Any]) -> None:
    assert handle(ConversationState(), "user_text_message", data) == refused(
        "user_text_message", "Failed to process user_text_message: No text provided"
    )


# -- trigger-message ------------------------------------------------------------------------------
def test_a_known_trigger_starts_a_turn() -> None:
    outcome = handle(ConversationState(), "trigger-message", {"trigger_name": "greet"})
    assert outcome == Outcome(
        Ack(
            "trigger-message",
            "success",
            "Trigger message processed",
            {"trigger_name": "greet", "has_speak_tag": False},
        ),
        StartTurn('Trigger "greet" received. I\'m the local stand-in character.'),
    )


def test_a_trigger_message_text_is_answered_whatever_the_name() -> None:
    outcome = handle(
        ConversationState(), "trigger-message", {"trigger_name": "nope", "trigger_message": "wave"}
    )
    assert outcome.ack.message == "Trigger message processed"
    assert outcome.then == StartTurn('Trigger "wave" received. I\'m the local stand-in character.')


def test_an_unknown_trigger_name_is_acked_and_ignored() -> None:
    outcome = handle(ConversationState(), "trigger-message", {"trigger_name": "dance"})
    assert outcome == Outcome(
        Ack(
            "trigger-message",
            "success",
            "Trigger message processed without response",
            {"trigger_name": "dance", "has_speak_tag": False},
        )
    )


@pytest.mark.parametrize("data", [{"trigger_name": 3}, {"trigger_message": ["x"]}])
def test_trigger_fields_must_be_strings(data: dict[str, Any]) -> None:
    assert handle(ConversationState(), "trigger-message", data) == refused(
        "trigger-message", "Failed to process trigger-message: trigger fields must be strings"
    )


# -- state updates ----------------------------------------------------------------------------------
def test_template_keys_replace_the_previous_ones() -> None:
    state = ConversationState(template_keys={"old": "x"})
    outcome = handle(state, "update-template-keys", {"template_keys": {"city": "Paris"}})
    assert outcome == Outcome(Ack("update-template-keys", "success", "Template keys updated"))
    assert state.template_keys == {"city": "Paris"}


@pytest.mark.parametrize("keys", [None, ["city"], {"age": 3}])
def test_template_keys_must_map_names_to_strings(keys: Any) -> None:
    state = ConversationState(template_keys={"old": "x"})
    assert handle(state, "update-template-keys", {"template_keys": keys}) == refused(
        "update-template-keys",
        "Failed to process update-template-keys: template_keys must map names to strings",
    )
    assert state.template_keys == {"old": "x"}


@pytest.mark.parametrize("field", ["scene_metadata", "metadata"])
def test_scene_metadata_is_stored(field: str) -> None:
    state = ConversationState()
    outcome = handle(state, "update-scene-metadata", {field: [{"name": "door"}]})
    assert outcome == Outcome(Ack("update-scene-metadata", "success", "Scene metadata updated"))
    assert state.scene_metadata == [{"name": "door"}]


def test_scene_metadata_must_be_a_list() -> None:
    state = ConversationState()
    assert handle(state, "update-scene-metadata", {"scene_metadata": {"a": 1}}) == refused(
        "update-scene-metadata",
        "Failed to process update-scene-metadata: scene_metadata must be a list",
    )
    assert state.scene_metadata == []


def test_dynamic_info_is_stored() -> None:
    state = ConversationState()
    outcome = handle(state, "update-dynamic-info", {"dynamic_info": {"text": "It rains"}})
    assert outcome == Outcome(Ack("update-dynamic-info", "success", "Dynamic info updated"))
    assert state.dynamic_info == "It rains"


@pytest.mark.parametrize("info", [None, "It rains", {"text": ""}, {"text": 1}])
def test_dynamic_info_needs_text(info: Any) -> None:
    state = ConversationState()
    assert handle(state, "update-dynamic-info", {"dynamic_info": info}) == refused(
        "update-dynamic-info", "No text provided in dynamic info"
    )
    assert state.dynamic_info is None


# -- context-update ---------------------------------------------------------------------------------
def context_extras(tokens: int, revision: int, run_llm: str, respond: bool) -> dict[str, Any]:
    extras: dict[str, Any] = {
        "token_count": tokens,
        "static_token_count": 0,
        "runtime_token_count": tokens,
        "max_tokens": CONTEXT_MAX_TOKENS,
        "static_max_tokens": 20_000,
        "runtime_max_tokens": RUNTIME_MAX_TOKENS,
        "remaining_tokens": CONTEXT_MAX_TOKENS - tokens,
        "revision": revision,
        "duplicate": False,
        "requested_run_llm": run_llm,
        "actual_run_llm": respond,
        "llm_triggered": respond,
    }
    if run_llm == "auto":
        extras["downgrade_reason"] = "auto: no response needed for a context update"
    return extras


def test_context_append_counts_tokens_and_auto_does_not_answer() -> None:
    state = ConversationState()
    first = handle(state, "context-update", {"text": "one two three four", "update_id": "u1"})
    assert first == Outcome(
        Ack(
            "context-update",
            "success",
            "Context updated",
            {**context_extras(6, 1, "auto", False), "update_id": "u1"},
        )
    )
    second = handle(state, "context-update", {"text": "five six", "run_llm": False})
    assert second == Outcome(
        Ack("context-update", "success", "Context updated", context_extras(9, 2, "false", False))
    )


def test_context_replace_and_reset_and_run_llm_true_answers() -> None:
    state = ConversationState(runtime_tokens=40, context_revision=4)
    replaced = handle(
        state, "context-update", {"mode": "replace", "text": "a b", "run_llm": "true"}
    )
    assert replaced == Outcome(
        Ack("context-update", "success", "Context updated", context_extras(3, 5, "true", True)),
        StartTurn("Noted (replace context). I'm the local stand-in character."),
    )
    reset = handle(state, "context-update", {"mode": "reset", "run_llm": "false"})
    assert reset.ack.extras == context_extras(0, 6, "false", False)
    assert state.runtime_tokens == 0


def test_context_tokens_are_capped() -> None:
    state = ConversationState(runtime_tokens=RUNTIME_MAX_TOKENS - 1)
    outcome = handle(state, "context-update", {"text": "a b c"})
    assert outcome.ack.extras is not None
    assert outcome.ack.extras["token_count"] == RUNTIME_MAX_TOKENS


@pytest.mark.parametrize("data", [{"mode": "prepend"}, {"text": 42}])
def test_context_mode_and_text_are_checked(data: dict[str, Any]) -> None:
    state = ConversationState()
    assert handle(state, "context-update", data) == refused(
        "context-update",
        "Failed to process context-update: mode must be append, replace or reset and text a string",
    )
    assert state.context_revision == 0


@pytest.mark.parametrize("run_llm", ["maybe", 1, None])
def test_context_run_llm_is_checked(run_llm: Any) -> None:
    assert handle(ConversationState(), "context-update", {"run_llm": run_llm}) == refused(
        "context-update", "Failed to process context-update: run_llm must be true, false or auto"
    )


# -- toggles ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("enabled", "text"), [(False, "TTS disabled"), (True, "TTS enabled")])
def test_tts_toggle(enabled: bool, text: str) -> None:
    state = ConversationState(tts_enabled=not enabled)
    outcome = handle(state, "tts-toggle", {"enabled": enabled})
    assert outcome == Outcome(Ack("tts-toggle", "success", text, {"enabled": enabled}))
    assert state.tts_enabled is enabled


def test_tts_toggle_needs_a_boolean() -> None:
    state = ConversationState()
    assert handle(state, "tts-toggle", {"enabled": "no"}) == refused(
        "tts-toggle", "Failed to process tts-toggle: enabled must be a boolean"
    )
    assert state.tts_enabled is True


@pytest.mark.parametrize(("muted", "text"), [(True, "STT muted"), (False, "STT unmuted")])
def test_stt_toggle(muted: bool, text: str) -> None:
    state = ConversationState(stt_muted=not muted)
    outcome = handle(state, "stt-toggle", {"muted": muted})
    assert outcome == Outcome(Ack("stt-toggle", "success", text, {"muted": muted}))
    assert state.stt_muted is muted


def test_stt_toggle_needs_a_boolean() -> None:
    state = ConversationState()
    assert handle(state, "stt-toggle", {"muted": 1}) == refused(
        "stt-toggle", "Failed to process stt-toggle: muted must be a boolean"
    )
    assert state.stt_muted is False


# -- pipeline control -------------------------------------------------------------------------------
def test_kill_pipeline_acks_then_ends_the_session() -> None:
    outcome = handle(ConversationState(), "kill-pipeline", {})
    assert outcome == Outcome(
        Ack("kill-pipeline", "success", "Pipeline killed successfully", {"room_name": "room-1"}),
        EndSession("kill_pipeline"),
    )
    assert not EndSession.before_ack


def test_interrupt_stops_a_speaking_bot_before_the_ack() -> None:
    outcome = handle(ConversationState(), "interrupt-bot", {}, bot=view(speaking=True))
    assert outcome == Outcome(Ack("interrupt-bot", "success", "Bot interrupted"), InterruptTurn())
    assert InterruptTurn.before_ack


def test_interrupt_of_a_silent_bot_does_nothing() -> None:
    outcome = handle(ConversationState(), "interrupt-bot", {}, bot=view(speaking=False))
    assert outcome == Outcome(
        Ack("interrupt-bot", "success", "Bot not speaking; nothing to interrupt")
    )


def test_a_second_interrupt_within_the_window_is_debounced() -> None:
    state = ConversationState()
    handle(state, "interrupt-bot", {}, bot=view(speaking=True, now=50.0))
    again = handle(
        state, "interrupt-bot", {}, bot=view(speaking=True, now=50.0 + INTERRUPT_DEBOUNCE_S / 2)
    )
    assert again == Outcome(
        Ack("interrupt-bot", "success", "Bot interrupt debounced (duplicate within window)")
    )
    later = handle(
        state, "interrupt-bot", {}, bot=view(speaking=True, now=50.0 + INTERRUPT_DEBOUNCE_S * 2)
    )
    assert later.then == InterruptTurn()


def test_force_user_stopped_speaking() -> None:
    outcome = handle(ConversationState(), "force-user-stopped-speaking", {})
    assert outcome == Outcome(
        Ack("force-user-stopped-speaking", "success", "User stopped speaking forced"),
        ForceUserStopped(),
    )
    assert ForceUserStopped.before_ack


def test_reset_idle_timer_only_acks() -> None:
    outcome = handle(ConversationState(), "reset-idle-timer")
    assert outcome == Outcome(Ack("reset-idle-timer", "success", "Idle timer reset"))
