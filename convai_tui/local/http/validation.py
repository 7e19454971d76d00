"""Validation of the ``/connect`` body, with FastAPI/pydantic-shaped 422 errors (§1.3, §1.5).

The real service is FastAPI; clients (Unity in particular) serialise the ``detail`` array, so
the stand-in reproduces its shape: ``[{"type","loc","msg","input"(,"ctx")}]``. Unknown fields
are ignored, as pydantic does by default.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class ConnectBody:
    character_id: str
    character_session_id: str | None
    end_user_id: str | None
    end_user_metadata: dict[str, Any] | None
    mode: str
    spawn_agent: bool
    room_name: str | None
    default_tts_enabled: bool
    raw: dict[str, Any]


@dataclass(frozen=True)
class ValidationFailure:
    errors: list[dict[str, Any]]


_STR_FIELDS = (
    "character_session_id",
    "end_user_id",
    "room_name",
    "llm_provider",
    "stt_provider",
    "blendshape_provider",
    "video_track_name",
    "room_session_id",
    "speaker_id",
    "core_service_url",
)
_BOOL_FIELDS = (
    "spawn_agent",
    "disable_live_fallback",
    "default_tts_enabled",
    "default_stt_enabled",
    "thinking_mode",
    "debug",
    "group_chat",
)
_INT_FIELDS = ("max_num_participants", "debug_row_cap")
_DICT_FIELDS = (
    "end_user_metadata",
    "blendshape_config",
    "emotion_config",
    "dynamic_info",
    "narrative_template_keys",
    "action_config",
    "audio_config",
    "vad_params",
    "turn_detection_config",
    "respond_modes",
    "vision_input_config",
    "invocation_metadata",
)
_LIST_FIELDS = ("scene_description", "characters")
_TRANSPORTS = {"livekit", "internal", "external"}
_SHARED_KEY_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_TRUE_STRINGS = {"true", "1", "yes", "on", "t", "y"}
_FALSE_STRINGS = {"false", "0", "no", "off", "f", "n"}


def _error(
    kind: str, field: str, msg: str, value: Any, ctx: dict[str, Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "loc": ["body", field], "msg": msg, "input": value}
    if ctx:
        error["ctx"] = ctx
    return error


def _as_bool(value: Any) -> bool | None:
    """pydantic's lax bool: true/false, 0/1 and the usual words."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE_STRINGS:
            return True
        if lowered in _FALSE_STRINGS:
            return False
    return None


def parse_connect_body(raw: bytes) -> ConnectBody | ValidationFailure:
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else _MISSING
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        position = getattr(exc, "pos", 0)
        return ValidationFailure(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", position],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": getattr(exc, "msg", str(exc))},
                }
            ]
        )
    if body is _MISSING:
        return ValidationFailure(
            [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        )
    if not isinstance(body, dict):
        return ValidationFailure(
            [
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": body,
                }
            ]
        )
    errors: list[dict[str, Any]] = []
    character_id = body.get("character_id", _MISSING)
    if character_id is _MISSING:
        errors.append(
            {
                "type": "missing",
                "loc": ["body", "character_id"],
                "msg": "Field required",
                "input": body,
            }
        )
    elif not isinstance(character_id, str):
        errors.append(
            _error("string_type", "character_id", "Input should be a valid string", character_id)
        )
    bools: dict[str, bool] = {}
    for name in _STR_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(_error("string_type", name, "Input should be a valid string", value))
    for name in _BOOL_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        as_bool = _as_bool(value)
        if as_bool is None:
            errors.append(
                _error(
                    "bool_parsing" if isinstance(value, str) else "bool_type",
                    name,
                    "Input should be a valid boolean",
                    value,
                )
            )
        else:
            bools[name] = as_bool
    for name in _INT_FIELDS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors.append(_error("int_type", name, "Input should be a valid integer", value))
    for name in _DICT_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, dict):
            errors.append(_error("dict_type", name, "Input should be a valid dictionary", value))
    for name in _LIST_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, list):
            errors.append(_error("list_type", name, "Input should be a valid list", value))
    transport = body.get("transport")
    if isinstance(transport, str) and transport not in _TRANSPORTS:
        hint = " (the local stand-in speaks livekit only)" if transport == "websocket" else ""
        errors.append(
            _error(
                "value_error",
                "transport",
                f"Value error, Invalid transport: {transport}{hint}",
                transport,
                {"error": {}},
            )
        )
    elif transport is not None and not isinstance(transport, str):
        errors.append(
            _error("string_type", "transport", "Input should be a valid string", transport)
        )
    for name, allowed in (("connection_type", ("audio", "video")), ("mode", ("create", "join"))):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or value not in allowed:
            expected = " or ".join(f"'{a}'" for a in allowed)
            errors.append(
                _error(
                    "literal_error",
                    name,
                    f"Input should be {expected}",
                    value,
                    {"expected": expected},
                )
            )
    shared_key = body.get("shared_session_key")
    if shared_key is not None and (
        not isinstance(shared_key, str) or not _SHARED_KEY_RE.match(shared_key)
    ):
        errors.append(
            _error(
                "string_pattern_mismatch",
                "shared_session_key",
                "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
                shared_key,
                {"pattern": "^[a-zA-Z0-9_-]{1,128}$"},
            )
        )
    metadata = body.get("end_user_metadata")
    if (
        isinstance(metadata, dict)
        and metadata.get("name") is not None
        and not isinstance(metadata.get("name"), str)
    ):
        errors.append(
            {
                "type": "string_type",
                "loc": ["body", "end_user_metadata", "name"],
                "msg": "Input should be a valid string",
                "input": metadata["name"],
            }
        )
    if errors:
        return ValidationFailure(errors)
    assert isinstance(character_id, str)
    end_user_id = body.get("end_user_id")
    if isinstance(end_user_id, str):
        end_user_id = end_user_id.strip() or None
    return ConnectBody(
        character_id=character_id,
        character_session_id=body.get("character_session_id"),
        end_user_id=end_user_id,
        end_user_metadata=metadata if isinstance(metadata, dict) else None,
        mode=body.get("mode") or "create",
        spawn_agent=bools.get("spawn_agent", True),
        room_name=body.get("room_name") or None,
        default_tts_enabled=bools.get("default_tts_enabled", True),
        raw=body,
    )
