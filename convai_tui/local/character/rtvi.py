"""RTVI messages as the Convai service sends them (protocol doc §2), and client-envelope parsing.

Server messages come in three shapes: Form A ``{"label":"rtvi-ai","type":t,"data":{...}}``,
Form B wrapped in ``server-message`` with the real type in ``data.type``, and the flat
``server-response`` ack. Keeping the builders here keeps the bot free of JSON plumbing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

LABEL = "rtvi-ai"
MAX_PACKET_BYTES = 15_360
"""LiveKit refuses data messages larger than this."""

SUPPORTED_TYPES: tuple[str, ...] = (
    "user_text_message",
    "trigger-message",
    "update-template-keys",
    "update-scene-metadata",
    "update-dynamic-info",
    "context-update",
    "tts-toggle",
    "stt-toggle",
    "kill-pipeline",
    "interrupt-bot",
    "force-user-stopped-speaking",
    "reset-idle-timer",
)
"""The server's registry, in the order of its ``supported_types`` list."""

PARSE_ERROR_MESSAGE = "Failed to parse message: invalid JSON or UTF-8 encoding"
MISSING_TYPE_MESSAGE = "Message missing required 'type' field"


def form_a(message_type: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Top-level RTVI message."""
    return {"label": LABEL, "type": message_type, "data": data if data is not None else {}}


def form_b(message_type: str, **fields: Any) -> dict[str, Any]:
    """Custom server message: ``server-message`` wrapping ``{"type": t, ...fields}``."""
    return {"label": LABEL, "type": "server-message", "data": {"type": message_type, **fields}}


def server_response(
    event_type: str,
    status: str,
    message: str | None = None,
    extras: dict[str, Any] | None = None,
    *,
    wrapped: bool = False,
) -> dict[str, Any]:
    """The ack of one client message; ``message``/``extras`` are omitted when empty."""
    body: dict[str, Any] = {"type": "server-response", "event_type": event_type, "status": status}
    if message:
        body["message"] = message
    if extras:
        body["extras"] = extras
    if wrapped:
        return {"label": LABEL, "type": "server-message", "data": body}
    return body


def encode(message: dict[str, Any]) -> bytes:
    """UTF-8 JSON, shrunk to fit one LiveKit data packet by clipping long text fields."""
    raw = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(raw) <= MAX_PACKET_BYTES:
        return raw
    return _encode_clipped(message)


def _encode_clipped(message: dict[str, Any]) -> bytes:
    limit = 4096
    while limit > 16:
        clipped = _clip_strings(message, limit)
        raw = json.dumps(clipped, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(raw) <= MAX_PACKET_BYTES:
            return raw
        limit //= 2
    raise ValueError("message cannot be shrunk below the LiveKit data packet limit")


def _clip_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 1] + "…"
    if isinstance(value, dict):
        return {key: _clip_strings(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [_clip_strings(item, limit) for item in value]
    return value


@dataclass(frozen=True)
class ClientMessage:
    """One client packet after unwrapping its envelope."""

    type: str
    data: Any
    message_id: str | None
    labelled: bool = False
    """Sent with label "rtvi-ai": Pipecat's RTVI layer reads it (strict profile)."""


class ParseFailure(Exception):
    """The packet is not JSON (-> ``parse-error`` ack)."""


class MissingType(Exception):
    """The packet is JSON but has no usable ``type`` (-> ``validation-error`` ack)."""

    def __init__(self, received: Any) -> None:
        super().__init__(MISSING_TYPE_MESSAGE)
        self.received = received


def parse_client_packet(payload: bytes) -> ClientMessage:
    """Accept every envelope of protocol §2.1: flat, labelled, WSDK and ``client-message``."""
    try:
        decoded = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseFailure(str(exc)) from exc
    if not isinstance(decoded, dict):
        raise MissingType(decoded)
    message_type = decoded.get("type")
    data = decoded.get("data")
    message_id = decoded.get("id") if isinstance(decoded.get("id"), str) else None
    if message_type == "client-message" and isinstance(data, dict) and "t" in data:
        message_type = data.get("t")
        data = data.get("d")
    if not isinstance(message_type, str) or not message_type:
        raise MissingType(decoded)
    return ClientMessage(
        type=message_type,
        data=data if data is not None else {},
        message_id=message_id,
        labelled=decoded.get("label") == LABEL,
    )


def resolved_type(message: dict[str, Any]) -> str | None:
    """The effective type of a server message: ``data.type`` inside server-message."""
    message_type = message.get("type")
    data = message.get("data")
    if message_type == "server-message" and isinstance(data, dict) and "type" in data:
        inner = data.get("type")
        return inner if isinstance(inner, str) else None
    return message_type if isinstance(message_type, str) else None
