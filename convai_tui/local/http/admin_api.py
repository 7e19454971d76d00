"""The stand-in's loopback-only admin routes under ``/_standin/`` (docs/FAULTS.md).

Tests and demos inspect the stand-in and script faults at runtime through them: stats, fault
updates, session actions (kick, delete-room, server-error, ...) and LiveKit restart/pause.
They refuse any caller but loopback or the stand-in's own ``host``; ``connect_api.build_app``
mounts them next to the public routes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from convai_tui.local.faults import FaultsError
from convai_tui.local.rooms.sessions import StandInSession
from convai_tui.local.sfu.backend import ExternalLiveKit, LiveKitControlUnsupported
from convai_tui.local.state import STATE_KEY, StandInState, detail_response

log = logging.getLogger(__name__)

SESSION_ACTIONS = (
    "kick",
    "delete-room",
    "duplicate-identity",
    "server-error",
    "usage-limit",
    "idle-warning",
    "malformed",
    "session-ending",
)
_LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _loopback_only(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        remote = request.remote
        if remote not in _LOOPBACK and remote != request.app[STATE_KEY].host:
            return detail_response(403, "admin routes are loopback-only")
        return await handler(request)

    return guarded


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"detail": f"invalid JSON: {exc}"}), content_type="application/json"
        ) from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"detail": "body must be a JSON object"}),
            content_type="application/json",
        )
    return body


@_loopback_only
async def admin_stats(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[STATE_KEY].stats())


@_loopback_only
async def admin_faults(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    body = await _json_body(request)
    try:
        state.faults.update(body)
    except FaultsError as exc:
        return detail_response(400, str(exc))
    log.info("faults updated: %s", ", ".join(sorted(body)) or "(nothing)")
    return web.json_response(state.faults.as_dict())


@_loopback_only
async def admin_session_action(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    target = request.match_info["target"]
    action = request.match_info["action"]
    if action not in SESSION_ACTIONS:
        return detail_response(
            404, f"unknown action {action!r}; one of {', '.join(SESSION_ACTIONS)}"
        )
    body = await _json_body(request)
    if target == "all":
        targets = state.sessions.active_sessions()
    else:
        session = state.sessions.session_for_token(target)
        if session is None:
            return detail_response(404, f"no active session {target}")
        targets = [session]
    done_rooms: set[str] = set()
    applied: list[str] = []
    for session in targets:
        # Room-wide actions run once per room even if several sessions share it.
        if action != "kick" and action != "duplicate-identity":
            if session.room_name in done_rooms:
                continue
            done_rooms.add(session.room_name)
        error = await _apply_session_action(state, session, action, body)
        if error is not None:
            return error
        applied.append(session.session_id)
    log.info("admin action %s on %s", action, applied or "no sessions")
    return web.json_response({"action": action, "sessions": applied})


async def _apply_session_action(
    state: StandInState, session: StandInSession, action: str, body: dict[str, Any]
) -> web.Response | None:
    manager = state.sessions
    if action == "kick":
        await manager.kick(session)
        return None
    if action == "delete-room":
        await manager.delete_room(session)
        return None
    if action == "duplicate-identity":
        await manager.duplicate_identity(session)
        return None
    bot = manager.bot_for(session)
    if bot is None:
        return detail_response(
            409, f"session {session.session_id} has no character bot (spawn_agent false)"
        )
    if action == "server-error":
        fatal = body.get("fatal", False)
        error = body.get("error", "Simulated server error (local stand-in)")
        if not isinstance(fatal, bool) or not isinstance(error, str):
            return detail_response(400, 'body must be {"fatal": bool, "error": str}')
        await bot.send_server_error(fatal, error)
    elif action == "usage-limit":
        await bot.send_usage_limit()
    elif action == "idle-warning":
        remaining = body.get("remaining_seconds", 5)
        if isinstance(remaining, bool) or not isinstance(remaining, int | float) or remaining < 0:
            return detail_response(400, "remaining_seconds must be a non-negative number")
        await bot.start_idle_countdown(float(remaining))
    elif action == "malformed":
        await bot.send_malformed()
    elif action == "session-ending":
        reason = body.get("reason", "server_shutdown")
        close = body.get("close", True)
        if not isinstance(reason, str) or not isinstance(close, bool):
            return detail_response(400, 'body must be {"reason": str, "close": bool}')
        await bot.send_session_ending(reason, close=close)
    return None


@_loopback_only
async def admin_livekit(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    action = request.match_info["action"]
    backend = state.backend
    operations: dict[str, Callable[[], Awaitable[None]]] = {
        "restart": backend.restart,
        "pause": backend.pause,
        "resume": backend.resume,
    }
    if action == "crash-restart":
        operations["crash-restart"] = getattr(backend, "crash_restart", backend.restart)
    operation = operations.get(action)
    if operation is None:
        return detail_response(404, "action must be restart, crash-restart, pause or resume")
    if isinstance(backend, ExternalLiveKit):
        return detail_response(409, f"cannot {action} an external LiveKit ({backend.ws_url})")
    if action == "restart":
        # The restart takes every room with it, so the sessions end here; the bots leave
        # first so they do not try to resume into the new server as orphans.
        await state.sessions.retire_all("livekit_restart")
    try:
        await operation()
    except LiveKitControlUnsupported as exc:
        return detail_response(409, str(exc))
    log.warning("livekit-server %s", action)
    return web.json_response({"action": action, "livekit_url": backend.ws_url})
