"""The multi-character fields of `POST /connect`: request bodies to create or join a room, and
the room part of the response (docs/multi-character.md §1-2; Convai's Live API page
"Use multi-character sessions").

Pure functions over dicts so `core/connect/connect_api.py` can call them without restructuring: it
builds today's single-character body, hands it to `create_room_body` / `join_room_body`, and
hands the decoded 200 body to `parse_room_response` (None = a single-character room).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from convai_tui.core.errors.error import ConvaiError, make_error
from convai_tui.core.settings.multi_config import (
    CharacterSpec,
    JoinSettings,
    validate_characters,
    validate_end_user_id,
    validate_join,
)

_SINGLE_CHARACTER_KEYS = ("character_id", "character_session_id", "room_name")


def create_room_body(
    base: Mapping[str, Any],
    characters: Sequence[CharacterSpec],
    *,
    end_user_id: str | None,
    shared_session_key: str | None = None,
    max_num_participants: int | None = None,
) -> dict[str, Any]:
    """A create-room body: today's body with `characters[]` (initial target first) instead of
    one `character_id`. Runs the client-side checks first; raises ConvaiError(config.*)."""
    validate_characters(characters)
    body = {k: v for k, v in base.items() if k not in _SINGLE_CHARACTER_KEYS}
    body["characters"] = [spec.body() for spec in characters]
    body["end_user_id"] = validate_end_user_id(end_user_id)
    body["mode"] = "create"
    if shared_session_key:
        body["shared_session_key"] = shared_session_key
    if max_num_participants is not None:
        if max_num_participants < 1:
            raise ConvaiError(
                make_error(
                    "config.invalid",
                    f"--max-participants must be at least 1, not {max_num_participants}.",
                )
            )
        body["max_num_participants"] = max_num_participants
    return body


def join_room_body(
    base: Mapping[str, Any], join: JoinSettings, *, end_user_id: str | None
) -> dict[str, Any]:
    """A join body: `mode: "join"`, exactly one locator, a new end user, never `characters`."""
    validate_join(join)
    body = {k: v for k, v in base.items() if k not in _SINGLE_CHARACTER_KEYS}
    body.pop("characters", None)
    body["mode"] = "join"
    body["end_user_id"] = validate_end_user_id(end_user_id)
    if join.room_session_id:
        body["room_session_id"] = join.room_session_id.strip()
    else:
        body["shared_session_key"] = (join.shared_session_key or "").strip()
    return body


@dataclass(frozen=True, slots=True)
class RoomRequest:
    """What the user asked for beyond one character: a room with these characters (initial
    target first), or a join of an existing room. Carried on the settings; None = today's
    single-character `/connect`."""

    characters: tuple[CharacterSpec, ...] = ()
    join: JoinSettings | None = None
    shared_session_key: str | None = None
    max_participants: int | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    """Display names by character id, for the roster (the front end looks them up)."""

    def body(self, base: Mapping[str, Any], end_user_id: str | None) -> dict[str, Any]:
        """The `/connect` body; raises ConvaiError(config.*) before any request is made."""
        if self.join is not None:
            validate_join(self.join, self.characters)
            return join_room_body(base, self.join, end_user_id=end_user_id)
        return create_room_body(
            base,
            self.characters,
            end_user_id=end_user_id,
            shared_session_key=self.shared_session_key,
            max_num_participants=self.max_participants,
        )


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """One character instance as `/connect` (or a roster-update ack) describes it."""

    membership_id: str
    character_id: str
    session_id: str | None = None
    character_session_id: str | None = None
    participant_identity: str | None = None
    is_initial: bool = False
    provisioning_status: str | None = None
    failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class RoomConnectInfo:
    """The room part of a multi-character `/connect` answer."""

    room_session_id: str
    active_membership_id: str | None
    route_epoch: int
    roster_epoch: int
    partial_dispatch: bool
    characters: tuple[MemberInfo, ...]


def _bad(message: str) -> ConvaiError:
    return ConvaiError(make_error("connection.failed", message, http_status=200))


def opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def as_int(value: object, name: str, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _bad(f"The connect API's {name} is not a number: {value!r}.")
    return int(value)


def parse_member(raw: object, where: str = "characters[]") -> MemberInfo:
    """One `characters[]` / `added[]` entry; a missing membership or character id is refused."""
    if not isinstance(raw, Mapping):
        raise _bad(f"A {where} entry is not an object.")
    membership_id = opt_str(raw.get("membership_id"))
    character_id = opt_str(raw.get("character_id"))
    if membership_id is None or character_id is None:
        raise _bad(f"A {where} entry has no membership_id or character_id.")
    return MemberInfo(
        membership_id=membership_id,
        character_id=character_id,
        session_id=opt_str(raw.get("session_id")),
        character_session_id=opt_str(raw.get("character_session_id")),
        participant_identity=opt_str(raw.get("participant_identity")),
        is_initial=raw.get("is_initial") is True,
        provisioning_status=opt_str(raw.get("provisioning_status")),
        failure_code=opt_str(raw.get("failure_code")),
    )


def parse_room_response(body: Mapping[str, Any]) -> RoomConnectInfo | None:
    """The room of a 200 `/connect` body, or None when it carries no roster and room session
    id (a single-character room, as the Unity SDK decides)."""
    room_session_id = opt_str(body.get("room_session_id"))
    characters = body.get("characters")
    if room_session_id is None or not isinstance(characters, list) or not characters:
        return None
    members = tuple(parse_member(entry) for entry in characters)
    ids = [m.membership_id for m in members]
    if len(set(ids)) != len(ids):
        raise _bad("The connect API listed the same membership_id twice.")
    return RoomConnectInfo(
        room_session_id=room_session_id,
        active_membership_id=opt_str(body.get("active_membership_id")),
        route_epoch=as_int(body.get("route_epoch"), "route_epoch"),
        roster_epoch=as_int(body.get("roster_epoch"), "roster_epoch"),
        partial_dispatch=body.get("partial_dispatch") is True,
        characters=members,
    )
