"""What a user of Convai's SDKs can ask of the session on /connect: emotion,
actions and scene, narrative keys, dynamic info, end-user metadata, turn-taking / VAD, the LLM
provider and thinking mode. From flags and the config file (convai_tui.config); None means "not sent",
so the server's documented default applies.

Emotion is on unless turned off, as the web SDK does (its `enableEmotion` defaults to true and
sends `emotion_config`); without `emotion_config` the service sends no `bot-emotion` at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EMOTION_CONFIG: dict[str, Any] = {
    "provider": "llm",
    "min_word_threshold": 3,
    "low_intensity_threshold": 0.33,
    "high_intensity_threshold": 0.66,
}
"""The web SDK 1.2.0's emotion_config (WEB-DOC emotions.md documents the same keys)."""

LLM_PROVIDERS = ("dynamic", "gemini-live", "gemini-live-beta", "gemini-baml")


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    emotion: bool = True
    action_config: dict[str, Any] | None = None
    """{actions, objects, characters, current_attention_object}: the complete affordance set."""
    scene_description: list[dict[str, Any]] | None = None
    """[{name, description}], descriptive only."""
    narrative_template_keys: dict[str, str] | None = None
    dynamic_info: dict[str, Any] | None = None
    """{text} (and optionally static_text, keep_in_context)."""
    end_user_metadata: dict[str, Any] | None = None
    """Ignored by the server without an end_user_id."""
    vad_params: dict[str, Any] | None = None
    """{confidence, start_secs, stop_secs, min_volume}."""
    turn_detection_config: dict[str, Any] | None = None
    """{type: smart_turn | not_provided, params?}."""
    llm_provider: str = "dynamic"
    thinking_mode: bool | None = None
    connection_type: str = "audio"
    debug: bool = False
    """Asks for the debug streams (server `metrics`, turn-trace, server-log)."""

    def body(self) -> dict[str, Any]:
        """The /connect body fields these options add (None values are left out)."""
        fields: dict[str, Any] = {
            "emotion_config": dict(EMOTION_CONFIG) if self.emotion else None,
            "action_config": self.action_config,
            "scene_description": self.scene_description,
            "narrative_template_keys": self.narrative_template_keys,
            "dynamic_info": self.dynamic_info,
            "vad_params": self.vad_params,
            "turn_detection_config": self.turn_detection_config,
            "thinking_mode": self.thinking_mode,
            "debug": True if self.debug else None,
        }
        return {k: v for k, v in fields.items() if v is not None}


def options_error(options: ConnectOptions) -> str | None:
    """Why the options cannot be sent, or None."""
    if options.llm_provider not in LLM_PROVIDERS:
        return f"llm_provider {options.llm_provider!r} is not one of {', '.join(LLM_PROVIDERS)}."
    if options.connection_type not in ("audio", "video"):
        return f"connection_type {options.connection_type!r} is not audio or video."
    if options.dynamic_info is not None and not isinstance(options.dynamic_info.get("text"), str):
        return "dynamic_info needs a text."
    return None
