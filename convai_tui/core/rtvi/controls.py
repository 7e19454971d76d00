"""Session controls (protocol §2.2): validated, typed builders for the client messages a person
at a console sends; front ends pass the built request to the session's `send_control`.

Builders raise `ControlArgumentError` with a message fit for a user, so nothing invalid reaches
the wire.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

LOW_CONTEXT_TOKENS = 5_000
"""Under this many remaining context tokens (a context-update ack's extras) the budget is low
(web SDK advice): the core logs a warning, the monitor shows it."""

CONTEXT_MODES = ("append", "replace", "reset")
RUN_LLM_VALUES = ("true", "false", "auto")
_MODE_SUFFIX = re.compile(r"(?s)(.*):(append|replace|reset)")
_SUMMARY_CHARS = 80


class ControlArgumentError(ValueError):
    """A control's arguments are invalid; the message says what to change."""


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """One client message to send: its §2.2 `type` and `data` payload."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return summarize(self.type, self.data)


# --- builders ------------------------------------------------------------------------------------


def user_text(text: str) -> ControlRequest:
    text = text.strip()
    if not text:
        raise ControlArgumentError("Nothing to send: the message is empty.")
    return ControlRequest("user_text_message", {"text": text})


def trigger(name: str | None = None, message: str | None = None) -> ControlRequest:
    """`trigger-message` by dashboard trigger name and/or a message (at least one)."""
    name = (name or "").strip()
    message = (message or "").strip()
    if not name and not message:
        raise ControlArgumentError("A trigger needs a name, a message or both.")
    data: dict[str, Any] = {}
    if name:
        data["trigger_name"] = name
    if message:
        data["trigger_message"] = message
    return ControlRequest("trigger-message", data)


def context_update(
    text: str = "",
    mode: str = "append",
    run_llm: str | bool | None = None,
    *,
    current_attention_object: str | dict[str, Any] | None = None,
    action_config: dict[str, Any] | None = None,
    remove_static: bool | None = None,
) -> ControlRequest:
    """`context-update`: append or replace runtime context with `text`, or reset it; with the
    documented extras: the attention object ("" clears it), a partial action_config and, for a
    reset, remove_static."""
    if mode not in CONTEXT_MODES:
        raise ControlArgumentError(
            f"Unknown context mode {mode!r}: use one of {', '.join(CONTEXT_MODES)}."
        )
    text = text.strip()
    if mode != "reset" and not text:
        raise ControlArgumentError(f"A context {mode} needs some text.")
    data: dict[str, Any] = {"text": text if mode != "reset" else "", "mode": mode}
    if run_llm is not None:
        value = ("true" if run_llm else "false") if isinstance(run_llm, bool) else run_llm
        if value not in RUN_LLM_VALUES:
            raise ControlArgumentError(
                f"run_llm must be one of {', '.join(RUN_LLM_VALUES)} (got {value!r})."
            )
        data["run_llm"] = value
    if current_attention_object is not None:
        data["current_attention_object"] = current_attention_object
    if action_config is not None:
        data["action_config"] = action_config
    if remove_static is not None:
        if mode != "reset":
            raise ControlArgumentError("remove_static applies only to a context reset.")
        data["remove_static"] = bool(remove_static)
    return ControlRequest("context-update", data)


def scene_metadata(items: Iterable[tuple[str, str]]) -> ControlRequest:
    """`update-scene-metadata`: the scene's objects as (name, description), descriptive only."""
    metadata = [
        {"name": name.strip(), "description": description.strip()} for name, description in items
    ]
    if not metadata or any(not m["name"] or not m["description"] for m in metadata):
        raise ControlArgumentError("Scene metadata needs name=description pairs.")
    return ControlRequest("update-scene-metadata", {"scene_metadata": metadata})


def usage_toggle(enabled: bool) -> ControlRequest:
    """`usage-toggle`: usage-update streaming (debug sessions with usage tracking)."""
    return ControlRequest("usage-toggle", {"enabled": bool(enabled)})


def vision_status() -> ControlRequest:
    """`vision-status` (video sessions only; its update_id is the message's top-level id)."""
    return ControlRequest("vision-status")


VISION_RESPOND_MODES = ("silent", "auto", "must_respond")


def vision_trigger(text: str | None = None, respond_mode: str | None = None) -> ControlRequest:
    """`vision-trigger`: ask about the newest frame (video sessions only)."""
    data: dict[str, Any] = {}
    if respond_mode is not None:
        if respond_mode not in VISION_RESPOND_MODES:
            raise ControlArgumentError(
                f"respond_mode must be one of {', '.join(VISION_RESPOND_MODES)}."
            )
        data["respond_mode"] = respond_mode
    if text and text.strip():
        data["text"] = text.strip()
    return ControlRequest("vision-trigger", data)


def template_keys(keys: Mapping[str, str]) -> ControlRequest:
    """`update-template-keys`: the whole map of template keys (it replaces the previous one)."""
    cleaned: dict[str, str] = {}
    for key, value in keys.items():
        if not isinstance(key, str) or not key.strip():
            raise ControlArgumentError("A template key needs a name (name=value).")
        if not isinstance(value, str):
            raise ControlArgumentError(f"The value of template key {key!r} must be text.")
        cleaned[key.strip()] = value
    return ControlRequest("update-template-keys", {"template_keys": cleaned})


def dynamic_info(text: str) -> ControlRequest:
    text = text.strip()
    if not text:
        raise ControlArgumentError("Dynamic info needs some text.")
    return ControlRequest("update-dynamic-info", {"dynamic_info": {"text": text}})


def tts(enabled: bool) -> ControlRequest:
    return ControlRequest("tts-toggle", {"enabled": bool(enabled)})


def stt(muted: bool) -> ControlRequest:
    return ControlRequest("stt-toggle", {"muted": bool(muted)})


def interrupt() -> ControlRequest:
    return ControlRequest("interrupt-bot")


def force_user_stopped_speaking() -> ControlRequest:
    return ControlRequest("force-user-stopped-speaking")


def reset_idle_timer() -> ControlRequest:
    return ControlRequest("reset-idle-timer")


def kill_pipeline() -> ControlRequest:
    """Ends the session server-side: the room closes after the ack."""
    return ControlRequest("kill-pipeline")


# --- parsing the command-line forms --------------------------------------------------------------


def parse_trigger(spec: str) -> ControlRequest:
    """`NAME[:MESSAGE]`; `:MESSAGE` sends a message without a name."""
    name, _, message = spec.partition(":")
    return trigger(name, message)


def parse_context(spec: str) -> ControlRequest:
    """`TEXT[:mode]`: only a final `:append`, `:replace` or `:reset` is a mode (default append);
    the text itself may contain colons."""
    match = _MODE_SUFFIX.fullmatch(spec)
    if match is None:
        return context_update(spec, "append")
    return context_update(match.group(1), match.group(2))


def parse_template_key(spec: str) -> tuple[str, str]:
    """`NAME=VALUE` (the value may contain `=` and may be empty)."""
    key, sep, value = spec.partition("=")
    if not sep or not key.strip():
        raise ControlArgumentError(f"Template keys are written name=value (got {spec!r}).")
    return key.strip(), value


def parse_template_keys(specs: Iterable[str]) -> ControlRequest:
    """Several `NAME=VALUE` (a later one wins for the same name) as one update."""
    return template_keys(dict(parse_template_key(spec) for spec in specs))


def parse_on_off(value: str) -> bool:
    word = value.strip().lower()
    if word in ("on", "true", "yes", "1"):
        return True
    if word in ("off", "false", "no", "0"):
        return False
    raise ControlArgumentError(f"Expected on or off (got {value!r}).")


# --- describing ------------------------------------------------------------------------------------


def summarize(msg_type: str, data: Mapping[str, Any] | None) -> str:
    """A one-line description of a client message for logs and the Requests panel."""
    data = data or {}
    text = ""
    if msg_type == "trigger-message":
        name, message = data.get("trigger_name"), data.get("trigger_message")
        text = " · ".join(str(part) for part in (name, message) if part)
    elif msg_type == "context-update":
        text = f"{data.get('mode', 'append')}: {data.get('text', '')}".rstrip(": ")
    elif msg_type == "update-template-keys":
        keys = data.get("template_keys")
        if isinstance(keys, Mapping):
            text = ", ".join(f"{k}={v}" for k, v in keys.items()) or "(none)"
    elif msg_type == "update-dynamic-info":
        info = data.get("dynamic_info")
        text = str(info.get("text", "")) if isinstance(info, Mapping) else ""
    elif msg_type == "tts-toggle":
        text = "on" if data.get("enabled") else "off"
    elif msg_type == "stt-toggle":
        text = "muted" if data.get("muted") else "unmuted"
    elif "text" in data:
        text = str(data.get("text", ""))
    text = " ".join(text.split())
    return text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 1] + "…"
