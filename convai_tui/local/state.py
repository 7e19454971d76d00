"""What the stand-in's HTTP routes share: its state (one per stand-in) and the error body.

Its own module so the public connect API (``connect_api``) and the loopback-only admin routes
(``admin_api``) both read it without importing each other.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from convai_tui.local.character.client_messages import CharacterProfile
from convai_tui.local.faults import Faults
from convai_tui.local.rooms.bots import MultiRooms
from convai_tui.local.rooms.sessions import SessionManager
from convai_tui.local.sfu.backend import LiveKitBackend


@dataclass
class ConnectRecord:
    at: float
    status: int
    api_key_hash: str | None
    character_id: str | None = None
    session_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "status": self.status,
            "api_key_hash": self.api_key_hash,
            "character_id": self.character_id,
            "session_id": self.session_id,
        }


@dataclass
class StandInState:
    """Everything the routes share; one per stand-in."""

    api_key: str
    characters: dict[str, CharacterProfile]
    faults: Faults
    backend: LiveKitBackend
    sessions: SessionManager
    connect_requests: list[ConnectRecord] = field(default_factory=list)
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)
    host: str = "127.0.0.1"
    """The address the stand-in binds (``--host``); admin callers from it are let in too."""
    multi: MultiRooms | None = None
    """Multi-character rooms: `/connect` bodies with `characters` or a join."""

    def stats(self) -> dict[str, Any]:
        return {
            "connect_requests": [record.as_dict() for record in self.connect_requests],
            "active_sessions": [s.summary() for s in self.sessions.active_sessions()],
            "faults": self.faults.as_dict(),
        }


STATE_KEY = web.AppKey("standin_state", StandInState)


def detail_response(status: int, detail: Any) -> web.Response:
    """An error answer in the service's shape: ``{"detail": …}`` with ``status``."""
    return web.json_response({"detail": detail}, status=status)
