"""The connect API client: POST /connect and /disconnect, and the failure → error-code mapping.

The mapping follows the Unity SDK's `ClassifyConnectApiFailure` rules, in order, then the
fallbacks by status (docs/convai-protocol.md §1.5).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from convai_tui import __version__
from convai_tui.core.errors.error import ConvaiError, SessionError, make_error
from convai_tui.core.errors.redact import REDACTOR
from convai_tui.core.settings.connect_options import ConnectOptions
from convai_tui.core.settings.room_request import RoomConnectInfo, RoomRequest, parse_room_response
from convai_tui.core.settings.session_settings import MAX_CONNECT_TIMEOUT_S

DEFAULT_CONNECT_TIMEOUT_S = 30.0
_INVALID_SESSION_MARKERS = (
    "invalid uuid",
    "invalid session id",
    "invalid session_id",
    "invalid character_session_id",
    "invalid uuid format",
)


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """What we ask /connect for; None fields are omitted from the body, as the SDKs do."""

    character_id: str
    character_session_id: str | None = None
    end_user_id: str | None = None
    options: ConnectOptions = field(default_factory=ConnectOptions)
    """What the user asked for on top (connect_options.py): emotion, actions, scene, ..."""
    blendshape_provider: str = "not_provided"
    mode: str = "create"
    spawn_agent: bool = True
    room_name: str | None = None
    default_tts_enabled: bool = True
    room: RoomRequest | None = None
    """A multi-character create or join; its checks run before any request."""

    def body(self) -> dict[str, Any]:
        options = self.options
        body: dict[str, Any] = {
            "character_id": self.character_id,
            "transport": "livekit",
            "connection_type": options.connection_type,
            "llm_provider": options.llm_provider,
            "blendshape_provider": self.blendshape_provider,
            "mode": self.mode,
            "spawn_agent": self.spawn_agent,
            "default_tts_enabled": self.default_tts_enabled,
            "invocation_metadata": {"source": "convai-tui", "client_version": __version__},
        }
        optional = {
            "character_session_id": self.character_session_id,
            "end_user_id": self.end_user_id,
            "end_user_metadata": options.end_user_metadata if self.end_user_id else None,
            "room_name": self.room_name,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        body.update(options.body())
        return self.room.body(body, self.end_user_id) if self.room is not None else body


@dataclass(frozen=True, slots=True)
class ConnectResponse:
    """The room credentials /connect returned. The token is kept out of repr on purpose."""

    session_id: str
    room_url: str
    token: str = field(repr=False)
    room_name: str | None = None
    character_session_id: str | None = None
    request_trace_id: str | None = None
    end_user_id: str | None = None
    elapsed_ms: float = 0.0
    room: RoomConnectInfo | None = None
    """The multi-character room of the answer; None = a single-character room."""


def error_message_from_body(text: str) -> str:
    """The human message of an error body: `detail` (array form joined), `message`, `error`,
    else the raw text — the order Unity reads them in."""
    try:
        body = json.loads(text)
    except (ValueError, TypeError, RecursionError):  # deeply nested JSON too
        return text.strip()[:500]
    if not isinstance(body, dict):
        return text.strip()[:500]
    for key in ("detail", "message", "error", "ERROR"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            return value[:500]
        if isinstance(value, list):
            parts = []
            for item in value:
                if isinstance(item, dict):
                    where = item.get("loc")
                    where = where if isinstance(where, list) else []
                    loc = ".".join(str(p) for p in where if p != "body")
                    msg = str(item.get("msg", ""))
                    parts.append(f"{loc}: {msg}" if loc else msg)
                else:
                    parts.append(str(item))
            return "; ".join(parts)[:500]
        return json.dumps(value)[:500]
    return text.strip()[:500]


def classify_connect_failure(status: int | None, message: str) -> str:
    """The error code for a failed /connect, by the ordered rules then the status fallbacks."""
    lowered = message.lower()
    if status == 422:
        return "connection.connect_validation_error"
    if status == 400 and any(marker in lowered for marker in _INVALID_SESSION_MARKERS):
        return "connection.connect_invalid_session_id"
    if status == 401:
        return "connection.connect_invalid_api_key"
    if status == 403:
        if "multi_character_v0_disabled" in lowered:
            return "connection.connect_multi_character_not_allowed"
        if "multi_character_roster_limit_exceeded" in lowered:
            return "connection.connect_multi_character_roster_limit"
        return "connection.connect_realtime_not_allowed"
    if status == 404:
        return "connection.connect_character_not_found"
    if status == 429:
        if "speaker" in lowered:
            return "connection.connect_speaker_limit_reached"
        return "connection.connect_concurrency_limit_reached"
    if status == 500:
        if "failed to start bot" in lowered:
            return "connection.connect_bot_start_failed"
        return "connection.connect_unhandled_server_exception"
    return _fallback_code(status)


def _fallback_code(status: int | None) -> str:
    if not status:
        return "connection.network_error"
    if status == 401:
        return "connection.invalid_token"
    if status == 403:
        return "connection.auth_failed"
    if status == 404:
        return "connection.not_found"
    if status == 429:
        return "connection.rate_limited"
    if status == 503:
        return "connection.service_unavailable"
    if 500 <= status < 600:
        return "connection.server_error"
    if 400 <= status < 500:
        return "connection.bad_request"
    return "connection.failed"


class ConnectApiClient:
    """Talks to `{connect_url}/connect` and `/disconnect`. TLS verification is always on."""

    def __init__(
        self,
        connect_url: str,
        api_key: str,
        *,
        timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.connect_url = connect_url.rstrip("/")
        self._api_key = api_key
        self.timeout_s = min(timeout_s, MAX_CONNECT_TIMEOUT_S)
        REDACTOR.add_secret(api_key)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout_s),
            verify=True,
            transport=transport,
            headers={"User-Agent": f"convai-tui/{__version__}"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def connect(self, request: ConnectRequest) -> ConnectResponse:
        """One /connect attempt; raises ConvaiError with the mapped code on any failure."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self._client.post(
                    f"{self.connect_url}/connect",
                    json=request.body(),
                    headers={"X-API-Key": self._api_key},
                )
        except (TimeoutError, httpx.TimeoutException):
            raise ConvaiError(
                make_error(
                    "connection.timeout",
                    f"No answer from {self.connect_url}/connect within {self.timeout_s:g} s.",
                )
            ) from None
        except (httpx.HTTPError, OSError) as exc:
            raise ConvaiError(
                make_error(
                    "connection.network_error",
                    f"Could not reach {self.connect_url}: {_describe(exc)}",
                )
            ) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        if response.status_code != 200:
            raise ConvaiError(_error_for_response(response.status_code, response.text))
        return _parse_success(response.text, elapsed_ms)

    async def disconnect(self, session_id: str) -> bool:
        """Best-effort POST /disconnect (no auth, as documented); True if the server said 200."""
        try:
            async with asyncio.timeout(5):
                response = await self._client.post(
                    f"{self.connect_url}/disconnect", params={"session_id": session_id}
                )
        except (TimeoutError, httpx.HTTPError, OSError):
            return False
        return response.status_code == 200


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return REDACTOR.redact(text)


def _error_for_response(status: int, text: str) -> SessionError:
    message = REDACTOR.redact(error_message_from_body(text)) or f"HTTP {status}"
    code = classify_connect_failure(status, message)
    return make_error(code, f"HTTP {status}: {message}", http_status=status)


def _parse_success(text: str, elapsed_ms: float) -> ConnectResponse:
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise ConvaiError(
            make_error(
                "connection.failed",
                "The connect API answered 200 with a body that is not JSON.",
                http_status=200,
            )
        ) from None
    if not isinstance(body, dict):
        raise ConvaiError(
            make_error(
                "connection.failed",
                "The connect API answered 200 with a body that is not an object.",
                http_status=200,
            )
        )
    token = body.get("token")
    room_url = body.get("room_url")
    if not isinstance(token, str) or not token:
        raise ConvaiError(
            make_error(
                "connection.failed",
                "Failed to get room details: the response has no token.",
                http_status=200,
            )
        )
    if not isinstance(room_url, str) or not room_url:
        raise ConvaiError(
            make_error(
                "connection.failed",
                "Failed to get room details: the response has no room_url.",
                http_status=200,
            )
        )
    REDACTOR.add_secret(token)
    session_id = body.get("session_id")
    return ConnectResponse(
        session_id=str(session_id) if session_id else "",
        room_url=room_url,
        token=token,
        room_name=_opt_str(body.get("room_name")),
        character_session_id=_opt_str(body.get("character_session_id")),
        request_trace_id=_opt_str(body.get("request_trace_id")),
        end_user_id=_opt_str(body.get("end_user_id")),
        elapsed_ms=elapsed_ms,
        room=parse_room_response(body),
    )


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
