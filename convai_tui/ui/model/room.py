"""The monitor's picture of a multi-character room, folded from the roster events:
the instances with their status, the interaction target, what changed when (for the
highlight), the instances muted locally, and the outcome of the last switch or cast change.

Pure: the handlers take the monitor model (anything with a `room: RoomView`) and an event and
return the parts of the screen they changed, like ui/model/reducer.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from convai_tui.core.api.events import Event, ParticipantLevels
from convai_tui.core.multi.events import (
    CharacterAdded,
    CharacterRemoved,
    CharacterStatusChanged,
    InteractionTargetChanged,
    Membership,
    RoomRebindStateChanged,
    RosterChanged,
    RosterCommandFailed,
)
from convai_tui.ui.model.views import Part


@dataclass(slots=True)
class RoomView:
    """None of it is set in a single-character room (`active` False)."""

    room_session_id: str | None = None
    members: tuple[Membership, ...] = ()
    target: str | None = None
    route_epoch: int = 0
    roster_epoch: int = 0
    partial_dispatch: bool = False
    changed_at: dict[str, tuple[float, str]] = field(default_factory=dict)
    """membership id → (when, what: added / status / target / removed), for the highlight."""
    removed: dict[str, Membership] = field(default_factory=dict)
    """Removed instances, still shown (struck) for a moment."""
    locally_muted: set[str] = field(default_factory=set)
    """Participant identities whose playback this monitor muted."""
    last_outcome: str = ""
    numbers: dict[str, int] = field(default_factory=dict)
    """membership id → the number shown and typed for it. Given on first sight and kept for
    the life of the room, never reused: a remembered number never points at someone else
    after a removal (gaps are fine)."""
    levels: dict[str, float] = field(default_factory=dict)
    """Participant identity → its latest level in dBFS, from its own audio."""
    speaking_audio: tuple[str, ...] = ()
    """Identities whose audio is above the speech threshold right now."""
    volumes_db: dict[str, float] = field(default_factory=dict)
    """Character id → playback volume set here (dB), remembered in the state dir."""

    @property
    def active(self) -> bool:
        return self.room_session_id is not None

    def number_of(self, membership_id: str) -> int | None:
        return self.numbers.get(membership_id)

    def by_number(self, number: int) -> Membership | None:
        return next((m for m in self.members if self.numbers.get(m.membership_id) == number), None)

    def known_character_ids(self, configured: str | None = None) -> list[str]:
        """Character ids worth offering when adding one: the configured one, then the room's
        (present or removed), each once."""
        ids = [configured or ""]
        ids += [m.character_id for m in self.members]
        ids += [m.character_id for m in self.removed.values()]
        return list(dict.fromkeys(i for i in ids if i))

    def _number_new_members(self) -> None:
        for member in self.members:
            if member.membership_id not in self.numbers:
                self.numbers[member.membership_id] = max(self.numbers.values(), default=0) + 1

    def get(self, membership_id: str | None) -> Membership | None:
        return next((m for m in self.members if m.membership_id == membership_id), None)

    def name_of(self, membership_id: str | None) -> str | None:
        member = self.get(membership_id) or self.removed.get(membership_id or "")
        return member.display_name if member is not None else None

    def target_text(self) -> str:
        """The status bar's target: its name and position, or why there is none."""
        member = self.get(self.target)
        if member is None:
            return "no target"
        return f"→ {member.display_name} [{self.number_of(member.membership_id)}]"


def _mark(m: Any, at: float, membership_id: str | None, what: str) -> None:
    if membership_id is not None:
        m.room.changed_at[membership_id] = (at, what)


def _on_roster(m: Any, e: RosterChanged) -> set[Part]:
    room: RoomView = m.room
    if room.room_session_id != e.room_session_id:  # a new room (first connect, reconnect)
        room.changed_at.clear()
        room.removed.clear()
        room.numbers.clear()
    room.room_session_id = e.room_session_id
    room.members = e.members
    room._number_new_members()
    room.target = e.active_membership_id
    room.route_epoch, room.roster_epoch = e.route_epoch, e.roster_epoch
    room.partial_dispatch = e.partial_dispatch
    return {Part.PARTICIPANTS, Part.STATE}


def _on_status(m: Any, e: CharacterStatusChanged) -> set[Part]:
    _mark(m, e.at, e.membership_id, "status")
    return {Part.PARTICIPANTS}


def _on_added(m: Any, e: CharacterAdded) -> set[Part]:
    _mark(m, e.at, e.member.membership_id, "added")
    m.add_line(e.at, "system", f"{e.member.display_name} joined the room")
    return {Part.PARTICIPANTS, Part.TRANSCRIPT}


def _on_removed(m: Any, e: CharacterRemoved) -> set[Part]:
    m.room.removed[e.member.membership_id] = e.member
    _mark(m, e.at, e.member.membership_id, "removed")
    m.add_line(e.at, "system", f"{e.member.display_name} left the room")
    return {Part.PARTICIPANTS, Part.TRANSCRIPT}


def _on_target(m: Any, e: InteractionTargetChanged) -> set[Part]:
    room: RoomView = m.room
    room.target = e.current
    _mark(m, e.at, e.current or e.previous, "target")
    name = room.name_of(e.current)
    m.add_line(e.at, "system", f"now talking to {name}" if name else "no interaction target")
    return {Part.PARTICIPANTS, Part.STATE, Part.TRANSCRIPT}


def _on_rebind(m: Any, e: RoomRebindStateChanged) -> set[Part]:
    m.room.last_outcome = f"switch: {e.outcome.value}"
    return {Part.PARTICIPANTS}


def _on_command_failed(m: Any, e: RosterCommandFailed) -> set[Part]:
    m.room.last_outcome = f"{e.command} failed: {e.code} — {e.message}"
    m.add_line(e.at, "system", m.room.last_outcome)
    return {Part.PARTICIPANTS, Part.TRANSCRIPT}


def _on_levels(m: Any, e: ParticipantLevels) -> set[Part]:
    m.room.levels = dict(e.levels)
    m.room.speaking_audio = tuple(e.speaking)
    return {Part.PARTICIPANTS}


ROOM_HANDLERS: dict[type[Event], Callable[[Any, Any], set[Part]]] = {
    ParticipantLevels: _on_levels,
    RosterChanged: _on_roster,
    CharacterStatusChanged: _on_status,
    CharacterAdded: _on_added,
    CharacterRemoved: _on_removed,
    InteractionTargetChanged: _on_target,
    RoomRebindStateChanged: _on_rebind,
    RosterCommandFailed: _on_command_failed,
}
