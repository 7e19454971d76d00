"""The multi-character room's data types and its frozen, past-tense events.

Kept apart from core/api/events.py so the room can grow without touching the single-character
events. Each event's `to_json()` is its headless JSON line; the documented keys are a contract:
`roster`, `character_status {membership_id, status, failure_code}`,
`interaction_target_changed {previous, current, route_epoch}` and
`rebind {outcome, requested, active, reconnect_required}` (plus `previous`, the old character).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from convai_tui.core.api.events import EVENT_CLASSES, Event


class MemberStatus(StrEnum):
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"


class RebindOutcome(StrEnum):
    """Seeds/001's `RoomOwnershipRebindStatus`, spelled as there."""

    DEFERRED_UNTIL_STARTUP = "DeferredUntilStartup"
    APPLIED_IMMEDIATELY = "AppliedImmediately"
    PENDING_RECONNECT = "PendingReconnect"
    REJECTED_TRANSITION_STATE = "RejectedTransitionState"
    REJECTED_INVALID_OWNERSHIP = "RejectedInvalidOwnership"


@dataclass(frozen=True, slots=True)
class Membership:
    """One character instance in the room, as the client's roster projection holds it.

    `display_name` tells clones apart ("Ada #2"); `character_id` is NOT unique in a room.
    """

    membership_id: str
    character_id: str
    display_name: str
    character_session_id: str | None = None
    session_id: str | None = None
    participant_identity: str | None = None
    is_initial: bool = False
    provisioning_status: str | None = None
    status: MemberStatus = MemberStatus.STARTING
    failure_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "membership_id": self.membership_id,
            "character_id": self.character_id,
            "name": self.display_name,
            "character_session_id": self.character_session_id,
            "session_id": self.session_id,
            "participant_identity": self.participant_identity,
            "is_initial": self.is_initial,
            "status": self.status.value,
            "failure_code": self.failure_code,
            "provisioning_status": self.provisioning_status,
        }


def _head(event: Event) -> dict[str, Any]:
    return {"type": event.TYPE, "ts": round(event.at, 6)}


MEMBER_JSON_FIELDS = tuple(
    "membership_id character_id name character_session_id session_id participant_identity"
    " is_initial status failure_code provisioning_status".split()
)
"""The keys of `Membership.to_json()`, flattened into character_added/removed lines."""


@dataclass(frozen=True, slots=True)
class RoomEvent(Event):
    """Base of the room's events: their JSON nests memberships, so they decode themselves."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event | None:
        return roster_event_from_json(data)


@dataclass(frozen=True, slots=True)
class RosterChanged(RoomEvent):
    """The whole roster, on connect and after every change (in room order)."""

    TYPE: ClassVar[str] = "roster"
    room_session_id: str
    active_membership_id: str | None
    route_epoch: int
    roster_epoch: int
    partial_dispatch: bool
    ready: bool
    members: tuple[Membership, ...]

    def to_json(self) -> dict[str, Any]:
        out = _head(self)
        out.update(
            room_session_id=self.room_session_id,
            active_membership_id=self.active_membership_id,
            route_epoch=self.route_epoch,
            roster_epoch=self.roster_epoch,
            partial_dispatch=self.partial_dispatch,
            ready=self.ready,
            members=[
                {**m.to_json(), "target": m.membership_id == self.active_membership_id}
                for m in self.members
            ],
        )
        return out


@dataclass(frozen=True, slots=True)
class CharacterStatusChanged(RoomEvent):
    """A membership was inserted, or moved into ready or failed."""

    TYPE: ClassVar[str] = "character_status"
    membership_id: str
    status: MemberStatus
    failure_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = _head(self)
        out.update(
            membership_id=self.membership_id,
            status=self.status.value,
            failure_code=self.failure_code,
        )
        return out


@dataclass(frozen=True, slots=True)
class CharacterAdded(RoomEvent):
    """A membership joined a room that was already up (never for the connect-time cast)."""

    TYPE: ClassVar[str] = "character_added"
    JSON_FIELDS = MEMBER_JSON_FIELDS
    member: Membership

    def to_json(self) -> dict[str, Any]:
        out = _head(self)
        out.update(self.member.to_json())
        return out


@dataclass(frozen=True, slots=True)
class CharacterRemoved(RoomEvent):
    """A membership left the room (removed, or its character gone)."""

    TYPE: ClassVar[str] = "character_removed"
    JSON_FIELDS = MEMBER_JSON_FIELDS
    member: Membership

    def to_json(self) -> dict[str, Any]:
        out = _head(self)
        out.update(self.member.to_json())
        return out


@dataclass(frozen=True, slots=True)
class InteractionTargetChanged(RoomEvent):
    """Who the user's input goes to; `current` None = nobody (a transition, not an end)."""

    TYPE: ClassVar[str] = "interaction_target_changed"
    previous: str | None
    current: str | None
    route_epoch: int

    def to_json(self) -> dict[str, Any]:
        out = _head(self)
        out.update(previous=self.previous, current=self.current, route_epoch=self.route_epoch)
        return out


@dataclass(frozen=True, slots=True)
class RoomRebindStateChanged(RoomEvent):
    """Seeds/001's `RoomOwnershipRebindStateChanged`, one per switch request.

    `requested`/`active`/`previous` are character ids as in the seed (membership ids are on
    `requested_membership_id`/`active_membership_id`, since clones share a character id).
    """

    TYPE: ClassVar[str] = "rebind"
    outcome: RebindOutcome
    requested: str | None
    active: str | None
    reconnect_required: bool = False
    previous: str | None = None
    requested_membership_id: str | None = None
    active_membership_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = _head(self)
        out.update(
            outcome=self.outcome.value,
            requested=self.requested,
            active=self.active,
            reconnect_required=self.reconnect_required,
            previous=self.previous,
            requested_membership_id=self.requested_membership_id,
            active_membership_id=self.active_membership_id,
        )
        return out


@dataclass(frozen=True, slots=True)
class RosterCommandFailed(RoomEvent):
    """A target or roster command ended without applying: rejected (backend `code`, e.g.
    roster_epoch_mismatch, unauthorized_sender) or `ack_timeout` (it may still have applied)."""

    TYPE: ClassVar[str] = "roster_command_failed"
    command: str
    command_id: str
    code: str
    message: str


def _opt(value: Any) -> str | None:
    return str(value) if value is not None else None


def membership_from_json(data: Mapping[str, Any]) -> Membership:
    return Membership(
        membership_id=str(data["membership_id"]),
        character_id=str(data["character_id"]),
        display_name=str(data.get("name") or data["character_id"]),
        character_session_id=_opt(data.get("character_session_id")),
        session_id=_opt(data.get("session_id")),
        participant_identity=_opt(data.get("participant_identity")),
        is_initial=bool(data.get("is_initial")),
        provisioning_status=_opt(data.get("provisioning_status")),
        status=MemberStatus(str(data.get("status") or "starting")),
        failure_code=_opt(data.get("failure_code")),
    )


def roster_event_from_json(data: Mapping[str, Any]) -> Event | None:
    """The room event a `to_json()` line describes (for replaying a session log); None when
    the type is not a room event. Raises ValueError when it is one but malformed."""
    cls = EVENT_CLASSES.get(str(data.get("type")))
    if cls is None or not issubclass(cls, RoomEvent):
        return None
    try:
        at = float(data["ts"])
        if cls is RosterChanged:
            return RosterChanged(
                room_session_id=str(data["room_session_id"]),
                active_membership_id=_opt(data.get("active_membership_id")),
                route_epoch=int(data["route_epoch"]),
                roster_epoch=int(data["roster_epoch"]),
                partial_dispatch=bool(data.get("partial_dispatch")),
                ready=bool(data.get("ready")),
                members=tuple(membership_from_json(m) for m in data["members"]),
                at=at,
            )
        if cls is CharacterStatusChanged:
            return CharacterStatusChanged(
                membership_id=str(data["membership_id"]),
                status=MemberStatus(str(data["status"])),
                failure_code=_opt(data.get("failure_code")),
                at=at,
            )
        if cls in (CharacterAdded, CharacterRemoved):
            return cls(member=membership_from_json(data), at=at)  # type: ignore[call-arg]
        if cls is InteractionTargetChanged:
            return InteractionTargetChanged(
                previous=_opt(data.get("previous")),
                current=_opt(data.get("current")),
                route_epoch=int(data["route_epoch"]),
                at=at,
            )
        if cls is RoomRebindStateChanged:
            return RoomRebindStateChanged(
                outcome=RebindOutcome(str(data["outcome"])),
                requested=_opt(data.get("requested")),
                active=_opt(data.get("active")),
                reconnect_required=bool(data.get("reconnect_required")),
                previous=_opt(data.get("previous")),
                requested_membership_id=_opt(data.get("requested_membership_id")),
                active_membership_id=_opt(data.get("active_membership_id")),
                at=at,
            )
        return RosterCommandFailed(
            command=str(data["command"]),
            command_id=str(data["command_id"]),
            code=str(data["code"]),
            message=str(data.get("message") or ""),
            at=at,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed {cls.TYPE} event: {exc}") from None
