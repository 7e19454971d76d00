"""The client's projection of a multi-character room: who is in it, who is ready, who is the
interaction target — a pure model, fed with parsed messages, answering with events.

Design (docs/multi-character.md; Convai's "How multi-character sessions work"):
- Memberships are keyed by `membership_id`; media binds by `participant_identity`; nothing is
  keyed by `character_id` (clones share it). `resolve()` takes a membership id, then a
  participant identity; a message that matches neither is not attributed to anyone.
- Each membership is starting, ready or failed (`dispatch_failed` = failed at once). The room
  is ready when its *initial* membership is; a failed secondary is a warning event, a failed
  initial one an error (`session.initial_character_failed`, naming its failure code).
- `route_epoch` moves only forwards: a target update applies only with a strictly greater
  epoch. `roster_epoch` merges by taking the higher value. Removing the target clears it
  (target-changed to none, then removed) without advancing the route epoch.
- Every change ends with a full `RosterChanged` snapshot, so a front end can redraw from it.

The membership table and its rules live in core/multi/members.py, the commands that change
the target or the cast in core/multi/commands.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from convai_tui.core.api.events import Event
from convai_tui.core.multi.events import MemberStatus
from convai_tui.core.multi.members import DISPATCH_FAILED, Memberships, int_or_none
from convai_tui.core.settings.room_request import MemberInfo, opt_str, parse_member

MEDIA_READY_GRACE_S = 3.0
"""Media alone (a subscribed track) is weak evidence: it only arms this wait for the real
`character-status`, after which a starting membership counts as ready (Unity SDK rule)."""


class Roster(Memberships):
    """The room as this client knows it, fed with the server's lifecycle messages, roster acks
    and the evidence of speech and media. Mutating methods return the events they caused."""

    # -- inbound lifecycle messages -------------------------------------------------------
    def _finish(self, events: list[Event]) -> list[Event]:
        if events:
            events.append(self.snapshot())
        return events

    @staticmethod
    def _member_info(data: Mapping[str, Any]) -> MemberInfo | None:
        """A new membership announced by a lifecycle message. Its media identity comes only
        from the message itself: the packet's sender may be another bot of the room."""
        if not opt_str(data.get("membership_id")) or not opt_str(data.get("character_id")):
            return None
        return parse_member(data)

    def on_bot_ready(self, data: Mapping[str, Any], sender: str | None = None) -> list[Event]:
        """`bot-ready`: its `about` names the instance; an unknown one is inserted first."""
        about = data.get("about")
        about = about if isinstance(about, Mapping) else {}
        self.merge_roster_epoch(about.get("roster_epoch"))
        member = self.resolve(
            opt_str(about.get("membership_id")),
            opt_str(about.get("participant_identity")) or sender,
        )
        events: list[Event] = []
        if member is None:
            info = self._member_info(about)
            if info is None:
                return []
            events += self.insert(info)
            member = self.get(info.membership_id)
            if member is None:
                return self._finish(events)
        events += self.set_status(member.membership_id, MemberStatus.READY)
        return self._finish(events)

    def on_character_status(
        self, data: Mapping[str, Any], sender: str | None = None
    ) -> list[Event]:
        """`character-status` (inferred shape: membership_id, status, failure_code,
        roster_epoch, and the instance fields when it announces a new one)."""
        epoch_moved = self.merge_roster_epoch(data.get("roster_epoch"))
        member = self.resolve(opt_str(data.get("membership_id")), sender)
        events: list[Event] = []
        if member is None:
            info = self._member_info(data)
            if info is None:
                return [self.snapshot()] if epoch_moved else []
            events += self.insert(info)
            member = self.get(info.membership_id)
            if member is None:
                return self._finish(events)
        status = str(data.get("status") or "").lower()
        if status == MemberStatus.READY.value:
            events += self.set_status(member.membership_id, MemberStatus.READY)
        elif status in (MemberStatus.FAILED.value, DISPATCH_FAILED):
            events += self.set_status(
                member.membership_id,
                MemberStatus.FAILED,
                opt_str(data.get("failure_code"))
                or (status if status == DISPATCH_FAILED else None),
            )
        if not events and epoch_moved:
            events.append(self.snapshot())
            return events
        return self._finish(events)

    def on_character_removed(
        self, data: Mapping[str, Any], sender: str | None = None
    ) -> list[Event]:
        """`character-removed` (inferred shape: membership_id, roster_epoch)."""
        epoch_moved = self.merge_roster_epoch(data.get("roster_epoch"))
        member = self.resolve(opt_str(data.get("membership_id")), sender)
        events = self.remove(member.membership_id) if member is not None else []
        if not events and epoch_moved:
            return [self.snapshot()]
        return self._finish(events)

    # -- readiness from speech and media --------------------------------------------------
    def note_speech(
        self, membership_id: str | None = None, participant_identity: str | None = None
    ) -> list[Event]:
        """Speech (text, a speech start) from a starting membership proves it is ready."""
        member = self.resolve(membership_id, participant_identity)
        if member is None or member.status is not MemberStatus.STARTING:
            return []
        return self._finish(self.set_status(member.membership_id, MemberStatus.READY))

    def note_media(
        self, participant_identity: str, now: float, participant_sid: str | None = None
    ) -> None:
        """A track appeared: bind the membership to its transport participant id, and if it
        is still starting arm the grace wait (see MEDIA_READY_GRACE_S)."""
        member = self.resolve(None, participant_identity)
        if member is None:
            return
        if participant_sid:
            self._by_sid[participant_sid] = member.membership_id
        if member.status is MemberStatus.STARTING:
            self._media_deadline.setdefault(member.membership_id, now + MEDIA_READY_GRACE_S)

    def expire_media_waits(self, now: float) -> list[Event]:
        due = [mid for mid, deadline in self._media_deadline.items() if now >= deadline]
        events: list[Event] = []
        for mid in due:
            self._media_deadline.pop(mid, None)
            events += self.set_status(mid, MemberStatus.READY)
        return self._finish(events)

    def next_media_deadline(self) -> float | None:
        return min(self._media_deadline.values(), default=None)

    # -- roster-update acks ---------------------------------------------------------------
    def apply_roster_ack(self, extras: Mapping[str, Any]) -> list[Event]:
        """A successful `character-roster-update` ack: adds, then removals, then epochs and
        the replacement target. An ack older than the roster we hold changes no membership."""
        epoch = int_or_none(extras.get("roster_epoch"))
        events: list[Event] = []
        if epoch is None or epoch >= self.roster_epoch:
            for raw in _as_list(extras.get("added")):
                if (
                    isinstance(raw, Mapping)
                    and opt_str(raw.get("membership_id"))
                    and opt_str(raw.get("character_id"))
                ):
                    events += self.insert(parse_member(raw, "added[]"))
            for mid in _as_list(extras.get("removed_membership_ids")):
                if isinstance(mid, str):
                    events += self.remove(mid)
        self.merge_roster_epoch(epoch)
        active = opt_str(extras.get("active_membership_id"))
        events += self.apply_route(active, extras.get("route_epoch"))
        return self._finish(events) if events else [self.snapshot()]


def _as_list(value: object) -> Iterable[Any]:
    return value if isinstance(value, list) else ()
