"""The stand-in's HTTP surface: Convai's connect API plus loopback-only admin routes.

Public routes follow protocol doc §1 and §4.1 (status codes and ``detail`` bodies copied
exactly). Admin routes under ``/_standin/`` (``admin_api``) let tests and demos inspect the
stand-in and script faults at runtime; ``build_app`` mounts both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from convai_tui.local.faults import Faults
from convai_tui.local.http import validation
from convai_tui.local.http.admin_api import (
    admin_faults,
    admin_livekit,
    admin_session_action,
    admin_stats,
)
from convai_tui.local.rooms.bots import wants_room
from convai_tui.local.rooms.sessions import BotStartFailed, api_key_hash
from convai_tui.local.state import (
    STATE_KEY,
    ConnectRecord,
    StandInState,
    detail_response,
)

log = logging.getLogger(__name__)

AUTH_REQUIRED = "Authentication required: provide X-API-Key or API-AUTH-TOKEN"
INVALID_API_KEY = "Invalid API key"
CHARACTER_NOT_FOUND = "Character not found or doesn't belong to user"
INVALID_CHARACTER_SESSION_ID = "Invalid character_session_id format: invalid uuid"
INVALID_SESSION_ID = "Invalid session ID format"
DISCONNECTED = {"status": "success", "message": "Session disconnected successfully"}

# Realistic ``detail`` texts for scripted statuses (``--connect-status``) without a detail.
DEFAULT_FAULT_DETAILS: dict[int, str] = {
    400: "Bad request",
    401: INVALID_API_KEY,
    403: "Realtime API access is not enabled for this plan",
    404: CHARACTER_NOT_FOUND,
    409: "Shared session conflict: the room is in use with a different configuration",
    429: "Concurrency limit reached: too many active sessions for this API key (concurrency_limit)",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable: database unavailable",
    504: "Gateway timeout",
}

_HANG_POLL_S = 0.25


# CORS for the public routes: Convai's web SDK runs in a page on another origin and its
# POST /connect (JSON body, x-api-key header) is preceded by a preflight. Admin routes get none.
_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, X-API-Key, API-AUTH-TOKEN",
    "Access-Control-Max-Age": "600",
}
_CORS_PATHS = ("/connect", "/disconnect", "/healthz")


@web.middleware
async def cors(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    if request.path not in _CORS_PATHS:
        return await handler(request)
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=_CORS_HEADERS)
    response = await handler(request)
    response.headers.update(_CORS_HEADERS)
    return response


def build_app(state: StandInState) -> web.Application:
    app = web.Application(middlewares=[cors])
    app[STATE_KEY] = state
    app.router.add_post("/connect", connect)
    app.router.add_post("/disconnect", disconnect)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/character/get", character_get)
    app.router.add_get("/_standin/stats", admin_stats)
    app.router.add_post("/_standin/faults", admin_faults)
    app.router.add_post("/_standin/sessions/{target}/{action}", admin_session_action)
    app.router.add_post("/_standin/livekit/{action}", admin_livekit)
    return app


# -- public routes ----------------------------------------------------------------------------
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def character_get(request: web.Request) -> web.Response:
    """The REST gateway's POST /character/get (api.convai.com), so clients can show a name.

    Auth is the gateway's `CONVAI-API-KEY` header; errors use its `{"ERROR": …}` envelope.
    """
    state = request.app[STATE_KEY]
    if request.headers.get("CONVAI-API-KEY") != state.api_key:
        return web.json_response({"ERROR": "The request contains an invalid API key."}, status=401)
    try:
        body = await request.json()
    except ValueError:
        body = None
    char_id = body.get("charID") if isinstance(body, dict) else None
    profile = state.characters.get(char_id) if isinstance(char_id, str) else None
    if profile is None:
        return web.json_response(
            {"ERROR": "INTERNAL SERVER ERROR, one or more database calls failed!"}, status=400
        )
    return web.json_response(
        {
            "character_name": profile.display_name,
            "user_id": "local-user",
            "character_id": profile.character_id,
            "voice_type": "espeak",
            "timestamp": "",
            "backstory": "The local stand-in character.",
        }
    )


async def connect(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    record = ConnectRecord(at=time.time(), status=0, api_key_hash=None)
    state.connect_requests.append(record)
    response = await _connect(request, state, record)
    record.status = response.status
    log.info(
        "POST /connect -> %s%s",
        response.status,
        f" session {record.session_id}" if record.session_id else "",
    )
    return response


async def _connect(
    request: web.Request, state: StandInState, record: ConnectRecord
) -> web.StreamResponse:
    faults = state.faults
    if faults.connect_delay_s:
        await asyncio.sleep(faults.connect_delay_s)
    if faults.connect_hang:
        await _hang(request, state)
        return web.Response(status=504, text="hung up")  # only reached when shutting down
    api_key, auth_error = _authenticate(request, state)
    record.api_key_hash = api_key_hash(api_key) if api_key else None
    if faults.take_connect_fault():
        return _scripted_fault(faults)
    if auth_error is not None:
        return auth_error
    assert api_key is not None
    raw = await request.read()
    if state.multi is not None and wants_room(_json_or_none(raw)):
        status, answer = await state.multi.connect(json.loads(raw))
        record.session_id = answer.get("session_id")
        return web.json_response(answer, status=status)
    parsed = validation.parse_connect_body(raw)
    if isinstance(parsed, validation.ValidationFailure):
        return detail_response(422, parsed.errors)
    body = parsed
    record.character_id = body.character_id
    profile = state.characters.get(body.character_id)
    if profile is None:
        return detail_response(404, CHARACTER_NOT_FOUND)
    if body.character_session_id is not None and not _is_uuid(body.character_session_id):
        return detail_response(400, INVALID_CHARACTER_SESSION_ID)
    if body.mode == "join":
        if not body.room_name:
            return detail_response(400, 'room_name is required when mode is "join"')
        if not state.sessions.room_exists(body.room_name):
            return detail_response(404, f"Room not found: {body.room_name}")
    elif body.room_name and state.sessions.room_exists(body.room_name):
        return detail_response(
            409, f'Room {body.room_name} already exists; use mode "join" to join it'
        )
    limit = faults.concurrency_limit
    if limit and state.sessions.active_count(api_key_hash(api_key)) >= limit:
        return detail_response(
            429,
            f"Concurrency limit reached: {limit} active session"
            f"{'s' if limit != 1 else ''} allowed for this API key "
            "(concurrency_limit)",
        )
    character_session_id = body.character_session_id or str(uuid.uuid4())
    try:
        session = await state.sessions.create_session(
            api_key=api_key,
            profile=profile,
            character_session_id=character_session_id,
            room_name=body.room_name,
            spawn_agent=body.spawn_agent,
            tts_enabled=body.default_tts_enabled,
            request=body.raw,
        )
    except BotStartFailed as exc:
        log.error("%s", exc)
        return detail_response(500, str(exc))
    record.session_id = session.session_id
    payload: dict[str, Any] = {
        "session_id": session.session_id,
        "request_trace_id": "req_" + secrets.token_hex(16),
        "character_session_id": session.character_session_id,
        "room_url": state.backend.ws_url,
        "room_name": session.room_name,
        "token": state.sessions.client_token(session.client_identity, session.room_name),
        "end_user_id": body.end_user_id,
        "end_user_metadata": body.end_user_metadata if body.end_user_id else None,
    }
    if faults.connect_no_token:
        del payload["token"]
    return web.json_response(payload)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _authenticate(
    request: web.Request, state: StandInState
) -> tuple[str | None, web.Response | None]:
    """X-API-Key wins; else API-AUTH-TOKEN = an active session_id; else 401 (§1.2)."""
    header_key = request.headers.get("X-API-Key")
    if header_key is not None:
        if secrets.compare_digest(header_key.encode(), state.api_key.encode()):
            return header_key, None
        return None, detail_response(401, INVALID_API_KEY)
    token = request.headers.get("API-AUTH-TOKEN")
    if token is not None:
        session = state.sessions.session_for_token(token.strip())
        if session is None:
            return None, detail_response(401, INVALID_API_KEY)
        return session.api_key, None
    return None, detail_response(401, AUTH_REQUIRED)


def _scripted_fault(faults: Faults) -> web.Response:
    status = faults.connect_status or 500
    if faults.connect_body is not None:
        try:
            json.loads(faults.connect_body)
            content_type = "application/json"
        except ValueError:
            content_type = "text/plain"
        return web.Response(status=status, text=faults.connect_body, content_type=content_type)
    detail = faults.connect_detail or DEFAULT_FAULT_DETAILS.get(status, f"HTTP {status}")
    if status == 422 and faults.connect_detail is None:
        return detail_response(
            422,
            [
                {
                    "type": "value_error",
                    "loc": ["body", "transport"],
                    "msg": "Value error, Invalid transport: sse",
                    "input": "sse",
                }
            ],
        )
    return detail_response(status, detail)


async def _hang(request: web.Request, state: StandInState) -> None:
    """Hold the request open until the client gives up (or the stand-in stops)."""
    while not state.shutting_down.is_set():
        transport = request.transport
        if transport is None or transport.is_closing():
            raise asyncio.CancelledError
        await asyncio.sleep(_HANG_POLL_S)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def disconnect(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    session_id = request.query.get("session_id")
    if session_id is None:
        return detail_response(
            422,
            [
                {
                    "type": "missing",
                    "loc": ["query", "session_id"],
                    "msg": "Field required",
                    "input": None,
                }
            ],
        )
    if not _is_uuid(session_id):
        return detail_response(400, INVALID_SESSION_ID)
    if state.multi is not None and await state.multi.disconnect(session_id):
        return web.json_response(DISCONNECTED)
    ended = await state.sessions.end_session(str(uuid.UUID(session_id)), "disconnect")
    if not ended:
        await state.sessions.end_session(session_id, "disconnect")
    log.info("POST /disconnect %s", session_id)
    return web.json_response(DISCONNECTED)
