"""Every live multi-character room of the stand-in, and `mode: "join"`: finding a room by its
room session id or its shared session key (local/rooms/roster.py is one room)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from convai_tui.local.rooms.policy import RoomRefused, invalid_field
from convai_tui.local.rooms.roster import RoomRoster


@dataclass
class RoomDirectory:
    """Every live room, by room session id and by shared session key."""

    rooms: dict[str, RoomRoster] = field(default_factory=dict)

    def add(self, room: RoomRoster) -> None:
        if room.shared_session_key and self.find(shared_session_key=room.shared_session_key):
            raise RoomRefused(409, "shared_session_key is already in use by another room")
        self.rooms[room.room_session_id] = room

    def find(
        self, room_session_id: str | None = None, shared_session_key: str | None = None
    ) -> RoomRoster | None:
        if room_session_id:
            return self.rooms.get(room_session_id)
        for room in self.rooms.values():
            if shared_session_key and room.shared_session_key == shared_session_key:
                return room
        return None

    def join(self, body: Mapping[str, Any], identity: str) -> RoomRoster:
        """`mode: "join"` with exactly one locator; RoomRefused = the HTTP error."""
        room_id = body.get("room_session_id")
        key = body.get("shared_session_key")
        if bool(room_id) == bool(key):
            raise invalid_field(
                "exactly one of room_session_id or shared_session_key is required",
                "room_session_id",
                room_id,
            )
        if body.get("characters"):
            raise invalid_field(
                "characters must not be sent when joining", "characters", body.get("characters")
            )
        end_user_id = body.get("end_user_id")
        if not isinstance(end_user_id, str) or not end_user_id.strip():
            raise invalid_field(
                "end_user_id is required to join a room", "end_user_id", end_user_id
            )
        room = self.find(
            room_id if isinstance(room_id, str) else None, key if isinstance(key, str) else None
        )
        if room is None:
            raise RoomRefused(404, "Room not found")
        room.join(identity)
        return room

    def remove(self, room_session_id: str) -> None:
        self.rooms.pop(room_session_id, None)
