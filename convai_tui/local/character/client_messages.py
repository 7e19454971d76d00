"""What the character does with one client packet: validate it, ack it, say what comes next.

Every client packet gets exactly one ``server-response`` ack (protocol §2.3). The handlers here
are plain functions over the conversation state a bot keeps (``ConversationState``): they
update it and return an ``Outcome`` -- the ack and at most one follow-up (start a turn,
interrupt the current one, close the session, ...). The bot (character.py) sends the ack and
carries out the follow-up; nothing here touches LiveKit, so every accept and refuse path is
unit-tested without a server.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from convai_tui.local.character import rtvi
from convai_tui.local.character.personas import persona_line

DEFAULT_TRIGGERS = frozenset({"greet", "farewell"})
"""Trigger names the demo character knows, as a dashboard would define them."""
INTERRUPT_DEBOUNCE_S = 0.3
CONTEXT_MAX_TOKENS = 50_000
STATIC_MAX_TOKENS = 20_000
RUNTIME_MAX_TOKENS = 30_000
_RUN_LLM = {"true": "true", "false": "false", "auto": "auto", True: "true", False: "false"}


@dataclass(frozen=True)
class CharacterProfile:
    character_id: str
    display_name: str = "Ada"
    triggers: frozenset[str] = DEFAULT_TRIGGERS


@dataclass
class ConversationState:
    """What the acks report on and the client messages change, one per bot."""

    tts_enabled: bool = True
    stt_muted: bool = False
    """Voice turns (local/character/voice.py) must ignore the user's audio while this is true."""
    template_keys: dict[str, str] = field(default_factory=dict)
    scene_metadata: list[Any] = field(default_factory=list)
    dynamic_info: str | None = None
    runtime_tokens: int = 0
    context_revision: int = 0
    usage_limit_hit: bool = False
    """Set by the usage-limit notice; every later message is refused."""
    last_interrupt: float = -math.inf
    """Monotonic time of the last interrupt-bot that was not debounced."""


@dataclass(frozen=True)
class Ack:
    """The ``server-response`` to send: see ``rtvi.server_response``."""

    event_type: str
    status: str
    message: str | None = None
    extras: dict[str, Any] | None = None


# -- follow-ups ---------------------------------------------------------------------------------
# ``before_ack`` follow-ups only flip a flag of the running turn; they take effect before the
# ack is sent so no word of an interrupted reply goes out after the client hears "interrupted".
@dataclass(frozen=True)
class StartTurn:
    """Answer with ``reply``; ``echo_text`` (typed text) is echoed as the user's transcript."""

    reply: str
    echo_text: str | None = None
    message_id: str | None = None
    before_ack: ClassVar[bool] = False


@dataclass(frozen=True)
class SendBotReady:
    message_id: str | None = None
    """The client-ready's id, echoed by the bot-ready as RTVI's request/response pairing does."""
    before_ack: ClassVar[bool] = False


@dataclass(frozen=True)
class EndSession:
    reason: str
    before_ack: ClassVar[bool] = False


@dataclass(frozen=True)
class InterruptTurn:
    before_ack: ClassVar[bool] = True


@dataclass(frozen=True)
class ForceUserStopped:
    """End the user's current utterance now (voice turns watch for it)."""

    before_ack: ClassVar[bool] = True


FollowUp = StartTurn | SendBotReady | EndSession | InterruptTurn | ForceUserStopped


@dataclass(frozen=True)
class Outcome:
    ack: Ack
    then: FollowUp | None = None


@dataclass(frozen=True)
class BotView:
    """What a handler may know about the bot besides the conversation state."""

    profile: CharacterProfile
    room_name: str
    speaking: bool
    """A bot turn is running (an interrupt has something to stop)."""
    now: float
    """Monotonic clock, for the interrupt debounce."""


TRIGGER_LINE = "I'm the local stand-in character."


def compose_reply(user_text: str, character_id: str = "") -> str:
    """The bot's answer; it quotes the user so tests and demos can see the round trip, then
    says the character's own line (a demo character's persona) so it is clear who answered."""
    quoted = " ".join(user_text.split())
    if len(quoted) > 400:
        quoted = quoted[:399] + "…"
    return f'You said: "{quoted}". {persona_line(character_id)}'


def token_estimate(text: str) -> int:
    return math.ceil(len(text.split()) * 1.3)


def handle_client_packet(state: ConversationState, payload: bytes, bot: BotView) -> Outcome:
    """Parse one data packet (any envelope of protocol §2.1) and handle it."""
    try:
        message = rtvi.parse_client_packet(payload)
    except rtvi.ParseFailure:
        return Outcome(Ack("parse-error", "error", rtvi.PARSE_ERROR_MESSAGE))
    except rtvi.MissingType as missing:
        return Outcome(
            Ack(
                "validation-error",
                "error",
                rtvi.MISSING_TYPE_MESSAGE,
                {"received_message": missing.received},
            )
        )
    if message.type == "client-ready":
        return Outcome(
            Ack("client-ready", "success", "Client ready"), SendBotReady(message.message_id)
        )
    if message.type not in rtvi.SUPPORTED_TYPES:
        return Outcome(
            Ack(
                message.type,
                "error",
                f"Unknown message type: {message.type}",
                {"supported_types": list(rtvi.SUPPORTED_TYPES)},
            )
        )
    if state.usage_limit_hit:
        return Outcome(Ack(message.type, "error", "Usage limit exceeded"))
    if not isinstance(message.data, dict):
        return Outcome(
            Ack(message.type, "error", f"Failed to process {message.type}: data must be an object")
        )
    return _HANDLERS[message.type](state, message, bot)


def _ok(
    message: rtvi.ClientMessage,
    text: str,
    extras: dict[str, Any] | None = None,
    then: FollowUp | None = None,
) -> Outcome:
    return Outcome(Ack(message.type, "success", text, extras), then)


def _refuse(message: rtvi.ClientMessage, text: str) -> Outcome:
    return Outcome(Ack(message.type, "error", text))


def _on_user_text(state: ConversationState, message: rtvi.ClientMessage, bot: BotView) -> Outcome:
    text = message.data.get("text")
    if not isinstance(text, str) or not text.strip():
        return _refuse(message, "Failed to process user_text_message: No text provided")
    message_id = message.data.get("message_id") or message.message_id
    turn = StartTurn(
        compose_reply(text, bot.profile.character_id),
        echo_text=text,
        message_id=message_id if isinstance(message_id, str) else None,
    )
    return _ok(message, "User text message processed", {"text": text}, turn)


def _on_trigger(state: ConversationState, message: rtvi.ClientMessage, bot: BotView) -> Outcome:
    name = message.data.get("trigger_name")
    text = message.data.get("trigger_message")
    if (name is not None and not isinstance(name, str)) or (
        text is not None and not isinstance(text, str)
    ):
        return _refuse(message, "Failed to process trigger-message: trigger fields must be strings")
    extras = {"trigger_name": name, "has_speak_tag": False}
    # Protocol §2.2: a name the character does not define is silently ignored.
    if not text and name not in bot.profile.triggers:
        return _ok(message, "Trigger message processed without response", extras)
    subject = text or name or ""
    turn = StartTurn(
        f'Trigger "{subject}" received. {persona_line(bot.profile.character_id, TRIGGER_LINE)}'
    )
    return _ok(message, "Trigger message processed", extras, turn)


def _on_template_keys(
    state: ConversationState, message: rtvi.ClientMessage, bot: BotView
) -> Outcome:
    keys = message.data.get("template_keys")
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        return _refuse(
            message,
            "Failed to process update-template-keys: template_keys must map names to strings",
        )
    state.template_keys = dict(keys)
    return _ok(message, "Template keys updated")


def _on_scene_metadata(
    state: ConversationState, message: rtvi.ClientMessage, bot: BotView
) -> Outcome:
    scene = message.data.get("scene_metadata", message.data.get("metadata"))
    if not isinstance(scene, list):
        return _refuse(
            message, "Failed to process update-scene-metadata: scene_metadata must be a list"
        )
    state.scene_metadata = scene
    return _ok(message, "Scene metadata updated")


def _on_dynamic_info(
    state: ConversationState, message: rtvi.ClientMessage, bot: BotView
) -> Outcome:
    info = message.data.get("dynamic_info")
    text = info.get("text") if isinstance(info, dict) else None
    if not isinstance(text, str) or not text:
        return _refuse(message, "No text provided in dynamic info")
    state.dynamic_info = text
    return _ok(message, "Dynamic info updated")


def _on_context_update(
    state: ConversationState, message: rtvi.ClientMessage, bot: BotView
) -> Outcome:
    data = message.data
    mode = data.get("mode", "append")
    text = data.get("text", "")
    raw_run_llm = data.get("run_llm", "auto")
    run_llm = _RUN_LLM.get(raw_run_llm) if isinstance(raw_run_llm, str | bool) else None
    if mode not in ("append", "replace", "reset") or not isinstance(text, str):
        return _refuse(
            message,
            "Failed to process context-update: mode must be append, "
            "replace or reset and text a string",
        )
    if run_llm is None:
        return _refuse(
            message, "Failed to process context-update: run_llm must be true, false or auto"
        )
    tokens = token_estimate(text)
    if mode == "append":
        state.runtime_tokens += tokens
    elif mode == "replace":
        state.runtime_tokens = tokens
    else:
        state.runtime_tokens = 0
    state.runtime_tokens = min(state.runtime_tokens, RUNTIME_MAX_TOKENS)
    state.context_revision += 1
    extras: dict[str, Any] = {
        "token_count": state.runtime_tokens,
        "static_token_count": 0,
        "runtime_token_count": state.runtime_tokens,
        "max_tokens": CONTEXT_MAX_TOKENS,
        "static_max_tokens": STATIC_MAX_TOKENS,
        "runtime_max_tokens": RUNTIME_MAX_TOKENS,
        "remaining_tokens": CONTEXT_MAX_TOKENS - state.runtime_tokens,
        "revision": state.context_revision,
        "duplicate": False,
    }
    if isinstance(data.get("update_id"), str):
        extras["update_id"] = data["update_id"]
    # "auto" leaves the decision to the server; the stand-in answers only when asked.
    respond = run_llm == "true"
    extras.update(requested_run_llm=run_llm, actual_run_llm=respond, llm_triggered=respond)
    if run_llm == "auto":
        extras["downgrade_reason"] = "auto: no response needed for a context update"
    turn = StartTurn(f"Noted ({mode} context). I'm the local stand-in character.")
    return _ok(message, "Context updated", extras, turn if respond else None)


def _on_tts_toggle(state: ConversationState, message: rtvi.ClientMessage, bot: BotView) -> Outcome:
    enabled = message.data.get("enabled")
    if not isinstance(enabled, bool):
        return _refuse(message, "Failed to process tts-toggle: enabled must be a boolean")
    state.tts_enabled = enabled
    return _ok(message, "TTS enabled" if enabled else "TTS disabled", {"enabled": enabled})


def _on_stt_toggle(state: ConversationState, message: rtvi.ClientMessage, bot: BotView) -> Outcome:
    muted = message.data.get("muted")
    if not isinstance(muted, bool):
        return _refuse(message, "Failed to process stt-toggle: muted must be a boolean")
    state.stt_muted = muted
    return _ok(message, "STT muted" if muted else "STT unmuted", {"muted": muted})


def _on_kill_pipeline(
    state: ConversationState, message: rtvi.ClientMessage, bot: BotView
) -> Outcome:
    return _ok(
        message,
        "Pipeline killed successfully",
        {"room_name": bot.room_name},
        EndSession("kill_pipeline"),
    )


def _on_interrupt(state: ConversationState, message: rtvi.ClientMessage, bot: BotView) -> Outcome:
    if bot.now - state.last_interrupt < INTERRUPT_DEBOUNCE_S:
        return _ok(message, "Bot interrupt debounced (duplicate within window)")
    state.last_interrupt = bot.now
    if bot.speaking:
        return _ok(message, "Bot interrupted", then=InterruptTurn())
    return _ok(message, "Bot not speaking; nothing to interrupt")


def _on_force_stop(state: ConversationState, message: rtvi.ClientMessage, bot: BotView) -> Outcome:
    return _ok(message, "User stopped speaking forced", then=ForceUserStopped())


def _on_reset_idle(state: ConversationState, message: rtvi.ClientMessage, bot: BotView) -> Outcome:
    # Every packet resets the idle clock (the bot does that on arrival); this one only acks.
    return _ok(message, "Idle timer reset")


_HANDLERS: dict[str, Callable[[ConversationState, rtvi.ClientMessage, BotView], Outcome]] = {
    "user_text_message": _on_user_text,
    "trigger-message": _on_trigger,
    "update-template-keys": _on_template_keys,
    "update-scene-metadata": _on_scene_metadata,
    "update-dynamic-info": _on_dynamic_info,
    "context-update": _on_context_update,
    "tts-toggle": _on_tts_toggle,
    "stt-toggle": _on_stt_toggle,
    "kill-pipeline": _on_kill_pipeline,
    "interrupt-bot": _on_interrupt,
    "force-user-stopped-speaking": _on_force_stop,
    "reset-idle-timer": _on_reset_idle,
}
assert set(_HANDLERS) == set(rtvi.SUPPORTED_TYPES), "every supported type needs a handler"
