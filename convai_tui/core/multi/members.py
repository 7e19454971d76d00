"""The membership table of a multi-character room: who is in it (by membership id, media
identity and transport participant id), their display names and statuses, the interaction
target and the two epochs, with the rules for changing them (docs/multi-character.md). Each
change returns the events it caused. `Roster` (roster.py) feeds it with the server's messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from convai_tui.core.api.events import ErrorRaised, Event, LogRecorded
from convai_tui.core.errors.error import make_error
from convai_tui.core.multi.events import (
    CharacterAdded,
    CharacterRemoved,
    CharacterStatusChanged,
    InteractionTargetChanged,
    Membership,
    MemberStatus,
    RosterChanged,
)
from convai_tui.core.settings.room_request import MemberInfo, RoomConnectInfo, opt_str

DISPATCH_FAILED = "dispatch_failed"


def int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return int(value)


class Memberships:
    """The room as this client knows it. Mutating methods return the events they caused."""

    def __init__(self, room: RoomConnectInfo, names: Mapping[str, str] | None = None) -> None:
        self.room_session_id = room.room_session_id
        self.route_epoch = room.route_epoch
        self.roster_epoch = room.roster_epoch
        self.partial_dispatch = room.partial_dispatch
        self.active_membership_id: str | None = None
        self._names: dict[str, str] = dict(names or {})
        self._members: dict[str, Membership] = {}
        self._by_identity: dict[str, str] = {}
        self._by_sid: dict[str, str] = {}
        self._ordinal: dict[str, int] = {}
        self._clone_count: dict[str, int] = {}
        self._removed: set[str] = set()
        self._doomed: set[str] = set()
        self._media_deadline: dict[str, float] = {}
        """Media-readiness waits armed by `Roster.note_media` (roster.py); a settled status or a
        removal ends a membership's wait here."""
        for info in room.characters:
            self._add(info)
        active = room.active_membership_id
        if active is None or active not in self._members:
            active = self.initial.membership_id if self._members else None
        self.active_membership_id = active

    # -- reading --------------------------------------------------------------------------
    @property
    def members(self) -> tuple[Membership, ...]:
        return tuple(self._members.values())

    def get(self, membership_id: str | None) -> Membership | None:
        return self._members.get(membership_id) if membership_id else None

    def resolve(
        self,
        membership_id: str | None = None,
        participant_identity: str | None = None,
        participant_sid: str | None = None,
    ) -> Membership | None:
        """The membership a message belongs to: by membership id, then participant identity,
        then the transport participant id bound when its media appeared; never by character
        id. None = do not attribute it to anyone."""
        member = self.get(membership_id)
        if member is None and participant_identity:
            member = self.get(self._by_identity.get(participant_identity))
        if member is None and participant_sid:
            member = self.get(self._by_sid.get(participant_sid))
        return member

    def attribute(
        self, data: Mapping[str, Any], sender: str | None, sender_sid: str | None = None
    ) -> Membership | None:
        """The instance an inbound message (transcript, speaking, emotion, action…) is from:
        its `membership_id` (or `about.membership_id`), then the packet's sender identity,
        then the sender's participant id."""
        about = data.get("about")
        mid = opt_str(data.get("membership_id")) or (
            opt_str(about.get("membership_id")) if isinstance(about, Mapping) else None
        )
        return self.resolve(mid, sender, sender_sid)

    def participant_kind(self, identity: str, local_identity: str | None) -> str:
        """Seeds/001's participant kinds: local_player, character (an instance's media
        identity) or remote_player (another human, who joins as `human:{speaker_id}`)."""
        if identity == local_identity:
            return "local_player"
        if self.resolve(None, identity) is None and identity.startswith("human:"):
            return "remote_player"
        return "character"  # a bot whose membership may not be known yet

    def find(self, spec: str) -> Membership | None:
        """A membership by id, or by its 1-based position (`--target 2`, number keys)."""
        spec = spec.strip()
        member = self.get(spec)
        if member is None and spec.isdigit():
            members = self.members
            index = int(spec) - 1
            member = members[index] if 0 <= index < len(members) else None
        return member

    @property
    def initial(self) -> Membership:
        """The membership flagged initial, else the first one (Unity SDK fallback)."""
        for member in self._members.values():
            if member.is_initial:
                return member
        return next(iter(self._members.values()))

    @property
    def is_ready(self) -> bool:
        return bool(self._members) and self.initial.status is MemberStatus.READY

    @property
    def initial_failed(self) -> bool:
        return bool(self._members) and self.initial.status is MemberStatus.FAILED

    @property
    def target(self) -> Membership | None:
        return self.get(self.active_membership_id)

    def input_refusal(self) -> str | None:
        """Why user input cannot go out now, or None when the target can take it."""
        if self.active_membership_id is None:
            return "No interaction target: pick a character to talk to first."
        target = self.target
        if target is None:
            return "The interaction target is not in this room's roster (yet)."
        if target.status is MemberStatus.STARTING:
            return f"{target.display_name} is still starting; wait until it is ready."
        if target.status is MemberStatus.FAILED:
            return (
                f"{target.display_name} failed to start "
                f"({target.failure_code or 'unknown'}); pick another character."
            )
        return None

    def snapshot(self) -> RosterChanged:
        return RosterChanged(
            room_session_id=self.room_session_id,
            active_membership_id=self.active_membership_id,
            route_epoch=self.route_epoch,
            roster_epoch=self.roster_epoch,
            partial_dispatch=self.partial_dispatch,
            ready=self.is_ready,
            members=self.members,
        )

    def initial_events(self) -> list[Event]:
        """What a front end learns on connect: the roster, then any start failures."""
        events: list[Event] = [self.snapshot()]
        for member in self._members.values():
            if member.status is MemberStatus.FAILED:
                events.append(self._failure_event(member))
        return events

    def _display_name(self, member: Membership) -> str:
        base = self._names.get(member.character_id) or member.character_id[:8]
        ordinal = self._ordinal.get(member.membership_id, 1)
        twins = sum(1 for m in self._members.values() if m.character_id == member.character_id)
        return base if ordinal == 1 and twins <= 1 else f"{base} #{ordinal}"

    def _rename(self) -> None:
        for mid, member in self._members.items():
            self._members[mid] = dataclasses.replace(
                member, display_name=self._display_name(member)
            )

    # -- epochs and target ----------------------------------------------------------------
    def merge_roster_epoch(self, value: object) -> bool:
        epoch = int_or_none(value)
        if epoch is None or epoch <= self.roster_epoch:
            return False
        self.roster_epoch = epoch
        return True

    def apply_route(self, active_membership_id: str | None, route_epoch: object) -> list[Event]:
        """A target update from an ack; dropped unless its epoch is strictly greater."""
        epoch = int_or_none(route_epoch)
        if epoch is None or epoch <= self.route_epoch:
            return []
        self.route_epoch = epoch
        if active_membership_id in self._removed:
            # A target ack overtaken by that membership's removal: the server has cleared it.
            active_membership_id = None
        if active_membership_id == self.active_membership_id:
            return []
        previous = self.active_membership_id
        self.active_membership_id = active_membership_id
        return [
            InteractionTargetChanged(
                previous=previous, current=active_membership_id, route_epoch=epoch
            )
        ]

    # -- membership changes ---------------------------------------------------------------
    def _add(self, info: MemberInfo) -> Membership | None:
        if info.membership_id in self._members:
            self._enrich(info)
            return None
        if info.membership_id in self._removed:
            return None
        failed = info.provisioning_status == DISPATCH_FAILED
        count = self._clone_count.get(info.character_id, 0) + 1
        self._clone_count[info.character_id] = count
        self._ordinal[info.membership_id] = count
        member = Membership(
            membership_id=info.membership_id,
            character_id=info.character_id,
            display_name="",
            character_session_id=info.character_session_id,
            session_id=info.session_id,
            participant_identity=info.participant_identity,
            is_initial=info.is_initial,
            provisioning_status=info.provisioning_status,
            status=MemberStatus.FAILED if failed else MemberStatus.STARTING,
            failure_code=(info.failure_code or DISPATCH_FAILED) if failed else None,
        )
        self._members[member.membership_id] = member
        if member.participant_identity:
            self._by_identity[member.participant_identity] = member.membership_id
        self._rename()
        return self._members[member.membership_id]

    def _enrich(self, info: MemberInfo) -> None:
        """A second announcement of a known membership fills in what the first one lacked
        (a `character-status` may not carry the participant identity; the ack does)."""
        member = self._members[info.membership_id]
        filled = dataclasses.replace(
            member,
            participant_identity=member.participant_identity or info.participant_identity,
            session_id=member.session_id or info.session_id,
            character_session_id=member.character_session_id or info.character_session_id,
            provisioning_status=member.provisioning_status or info.provisioning_status,
        )
        self._members[info.membership_id] = filled
        if filled.participant_identity and not member.participant_identity:
            self._by_identity[filled.participant_identity] = filled.membership_id

    def insert(self, info: MemberInfo) -> list[Event]:
        """A membership that joined the running room: added, then its status (deduplicated:
        a lifecycle message and the roster ack may both announce it)."""
        member = self._add(info)
        if member is None:
            return []
        events: list[Event] = [
            CharacterAdded(member=member),
            CharacterStatusChanged(
                membership_id=member.membership_id,
                status=member.status,
                failure_code=member.failure_code,
            ),
        ]
        if member.status is MemberStatus.FAILED:
            events.append(self._failure_event(member))
        for doomed in list(self._doomed):
            self._doomed.discard(doomed)
            events += self.remove(doomed)
        return events

    def remove(self, membership_id: str) -> list[Event]:
        """Target cleared first (if it was this one), then removed. Never empties the room:
        removing the last member waits until another one is known."""
        member = self._members.get(membership_id)
        if member is None:
            return []
        if len(self._members) <= 1:
            # Messages from different senders can overtake each other: the removal of the
            # last known member arrived before the member that replaces it. Keep it until then.
            self._doomed.add(membership_id)
            self._removed.add(membership_id)
            return []
        events: list[Event] = []
        if self.active_membership_id == membership_id:
            self.active_membership_id = None
            events.append(
                InteractionTargetChanged(
                    previous=membership_id, current=None, route_epoch=self.route_epoch
                )
            )
        del self._members[membership_id]
        self._removed.add(membership_id)
        self._media_deadline.pop(membership_id, None)
        if member.participant_identity:
            self._by_identity.pop(member.participant_identity, None)
        for sid in [sid for sid, mid in self._by_sid.items() if mid == membership_id]:
            del self._by_sid[sid]
        self._rename()
        events.append(CharacterRemoved(member=member))
        return events

    def set_status(
        self, membership_id: str, status: MemberStatus, failure_code: str | None = None
    ) -> list[Event]:
        """starting → ready/failed, ready → failed; failed is final and never goes back."""
        member = self._members.get(membership_id)
        if member is None or member.status is status or member.status is MemberStatus.FAILED:
            return []
        if status is MemberStatus.STARTING:
            return []
        updated = dataclasses.replace(
            member,
            status=status,
            failure_code=(failure_code or "unknown") if status is MemberStatus.FAILED else None,
        )
        self._members[membership_id] = updated
        self._media_deadline.pop(membership_id, None)
        events: list[Event] = [
            CharacterStatusChanged(
                membership_id=membership_id, status=status, failure_code=updated.failure_code
            )
        ]
        if status is MemberStatus.FAILED:
            events.append(self._failure_event(updated))
        return events

    def _failure_event(self, member: Membership) -> Event:
        code = member.failure_code or "unknown"
        if member.membership_id == self.initial.membership_id:
            return ErrorRaised(
                error=make_error(
                    "session.initial_character_failed",
                    f"Initial character failed to start ({code}): {member.display_name} "
                    f"({member.membership_id}).",
                )
            )
        return LogRecorded(
            level="warning",
            category="roster",
            message=f"{member.display_name} ({member.membership_id}) did not "
            f"start ({code}); the room works without it.",
        )
