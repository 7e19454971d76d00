"""RTVI messages over LiveKit data packets: parsing what the server sends, building what we send.

Inbound messages come in three shapes (docs/convai-protocol.md §2.4): Form A top-level
`{"type": t, "data": {...}}`, Form B `{"type": "server-message", "data": {"type": t, ...}}`,
and the flat `server-response`. Labels are never required. Parsing is defensive: anything
malformed becomes a `protocol.parse_failed` or `protocol.message_invalid` error, never a crash.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from convai_tui.core.errors.error import ConvaiError, make_error
from convai_tui.core.errors.redact import redact

MAX_PACKET_BYTES = 15_360
RTVI_LABEL = "rtvi-ai"
ACK_STATUSES = frozenset({"success", "error", "processing", "pending"})


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A parsed server message: its resolved type and the fields of its payload."""

    type: str
    data: dict[str, Any]
    wrapped: bool
    id: str | None = None
    """The top-level `id`: on error-response and bot-ready, the id of the client message
    answered (Pipecat's RTVI layer)."""


MessageHandler = Callable[[InboundMessage], None]
Routes = Mapping[str, MessageHandler]
"""The server message types a part of the session owns, each with its handler; inbound.py
joins every owner's routes into the session's one table."""


def _invalid(message: str, payload: str) -> ConvaiError:
    return ConvaiError(
        make_error("protocol.message_invalid", message, detail=redact(payload[:300]))
    )


def parse_inbound(payload: bytes | str) -> InboundMessage:
    """Parse one data packet; raises ConvaiError(protocol.*) when it cannot be understood."""
    if isinstance(payload, bytes):
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ConvaiError(
                make_error(
                    "protocol.parse_failed",
                    "A data message is not valid UTF-8.",
                    detail=repr(payload[:120]),
                )
            ) from None
    else:
        text = payload
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        raise ConvaiError(
            make_error(
                "protocol.parse_failed",
                "A data message is not valid JSON.",
                detail=redact(text[:300]),
            )
        ) from None
    if not isinstance(raw, dict):
        raise _invalid("A data message is JSON but not an object.", text)
    msg_type = raw.get("type")
    if not isinstance(msg_type, str) or not msg_type:
        raise _invalid("A data message has no 'type' string.", text)
    data = raw.get("data")
    if data is not None and not isinstance(data, dict):
        raise _invalid(f"The 'data' of a '{msg_type}' message is not an object.", text)
    if msg_type == "server-message":
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise _invalid("A server-message has no inner 'data.type'.", text)
        inner = dict(data)
        inner_type = inner.pop("type")
        if inner_type == "server-response" and isinstance(inner.get("data"), dict):
            inner = {**inner, **inner["data"]}
        return InboundMessage(inner_type, inner, wrapped=True)
    if msg_type == "server-response":
        # The documented flat form puts the fields at the top level; accept a data object too.
        fields = {k: v for k, v in raw.items() if k not in ("type", "label", "id")}
        if isinstance(data, dict):
            fields.pop("data", None)
            fields.update(data)
        return InboundMessage(msg_type, fields, wrapped=False)
    top_id = raw.get("id")
    return InboundMessage(
        msg_type,
        dict(data or {}),
        wrapped=False,
        id=top_id if isinstance(top_id, str) and top_id else None,
    )


# --- typed field access: a wrong type is a protocol.message_invalid, naming the field ----------


def field_str(msg: InboundMessage, key: str, *, required: bool = False) -> str | None:
    value = msg.data.get(key)
    if value is None:
        if required:
            raise _invalid(f"'{msg.type}' is missing '{key}'.", json.dumps(msg.data)[:300])
        return None
    if not isinstance(value, str):
        raise _invalid(f"'{msg.type}.{key}' is not a string.", json.dumps(msg.data)[:300])
    return value


def field_bool(msg: InboundMessage, key: str, default: bool) -> bool:
    value = msg.data.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid(f"'{msg.type}.{key}' is not a boolean.", json.dumps(msg.data)[:300])


def field_int(msg: InboundMessage, key: str, *, required: bool = False) -> int | None:
    value = msg.data.get(key)
    if value is None:
        if required:
            raise _invalid(f"'{msg.type}' is missing '{key}'.", json.dumps(msg.data)[:300])
        return None
    if isinstance(value, bool):
        raise _invalid(f"'{msg.type}.{key}' is not a number.", json.dumps(msg.data)[:300])
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) < 1e12:
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise _invalid(f"'{msg.type}.{key}' is not a number.", json.dumps(msg.data)[:300])


def action_names(msg: InboundMessage) -> tuple[str, ...]:
    """`action-response.actions` as names; both the old string array and objects are accepted."""
    actions = msg.data.get("actions")
    if actions is None:
        return ()
    if not isinstance(actions, list):
        raise _invalid("'action-response.actions' is not a list.", json.dumps(msg.data)[:300])
    names: list[str] = []
    for item in actions:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            target = item.get("target")
            names.append(f"{item['name']} → {target}" if isinstance(target, str) else item["name"])
        else:
            raise _invalid("An action is neither a string nor {name}.", json.dumps(msg.data)[:300])
    return tuple(names)


# --- outbound ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    type: str
    id: str
    payload: bytes


LABELLED_TYPES = frozenset({"client-ready"})
"""Types sent with `label: "rtvi-ai"`: Pipecat's RTVI layer takes only labelled packets, and
answers a labelled packet of any type it does not know (every Convai type) with an
error-response, so only the RTVI handshake is labelled (docs/PROTOCOL.md, Envelope)."""

ID_TYPES = frozenset({"client-ready", "vision-status", "vision-trigger"})
"""Types whose top-level `id` the service reads: the handshake (bot-ready echoes it) and the
vision messages (their `update_id` falls back to it)."""


def build_message(msg_type: str, data: dict[str, Any] | None = None) -> OutboundMessage:
    """A client message as the docs' envelope `{type, data}`: `data` omitted when empty, a
    label and a top-level id only where the type needs them (`LABELLED_TYPES`, `ID_TYPES`).
    Every message still gets an id of ours, to match its answer. Refuses packets LiveKit
    would drop."""
    message_id = str(uuid.uuid4())
    body: dict[str, Any] = {}
    if msg_type in LABELLED_TYPES:
        body["label"] = RTVI_LABEL
    body["type"] = msg_type
    if msg_type in ID_TYPES:
        body["id"] = message_id
    if data:
        body["data"] = data
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(payload) > MAX_PACKET_BYTES:
        raise ConvaiError(
            make_error(
                "protocol.message_too_large",
                f"The {msg_type} message is {len(payload):,} bytes; LiveKit's limit is "
                f"{MAX_PACKET_BYTES:,}. Shorten it and send again.",
            )
        )
    return OutboundMessage(msg_type, message_id, payload)
