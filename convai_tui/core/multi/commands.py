"""Commands that change a multi-character room: the interaction target and the cast.

One `interaction-target` command and one `character-roster-update` command may be in flight
at a time (the Unity SDK's two gates; a second request is refused with the reason rather than
queued). Each waits for its `server-response` ack for 10 s / 15 s of the injected clock; on
timeout the change may still have been applied, and a late ack is then handled like any
unsolicited one: epoch-guarded. Every switch request ends in exactly one seeds/001 rebind event
unless it timed out (then a `RosterCommandFailed` with code `ack_timeout` says so).

`rebind_before_send` decides the outcomes that need no message at all (not connected yet,
transitioning, single-character room).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convai_tui.core.api.events import Event
from convai_tui.core.api.states import SessionState
from convai_tui.core.multi.events import (
    MemberStatus,
    RebindOutcome,
    RoomRebindStateChanged,
    RosterCommandFailed,
)
from convai_tui.core.multi.roster import Roster
from convai_tui.core.settings.multi_config import CharacterSpec

TARGET_COMMAND = "interaction-target"
ROSTER_COMMAND = "character-roster-update"
TARGET_ACK_TIMEOUT_S = 10.0
ROSTER_ACK_TIMEOUT_S = 15.0
ACK_TIMEOUT_CODE = "ack_timeout"
_SUCCESS = frozenset({"success", "ok"})
_TIMEOUT_MESSAGES = {
    TARGET_COMMAND: "Timed out waiting for the interaction-target acknowledgement.",
    ROSTER_COMMAND: "Timed out waiting for the character-roster-update acknowledgement.",
}


@dataclass(frozen=True, slots=True)
class OutboundCommand:
    """A data message to send; resend it unchanged (same id) if delivery is uncertain."""

    id: str
    type: str
    data: dict[str, Any]

    def message(self) -> dict[str, Any]:
        return {"label": "rtvi-ai", "id": self.id, "type": self.type, "data": self.data}


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a request produced: a command to send, or a refusal with its reason."""

    command: OutboundCommand | None
    events: tuple[Event, ...] = ()
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class _Pending:
    command: OutboundCommand
    deadline: float
    requested_membership_id: str | None = None
    requested_character_id: str | None = None
    previous_character_id: str | None = None


def rebind_before_send(
    state: SessionState, *, multi_character_room: bool, requested: str | None, active: str | None
) -> RoomRebindStateChanged | None:
    """The rebind outcome of a switch that ends here (character ids), or None when a
    multi-character room should send an `interaction-target` command."""
    if state.is_transitioning():
        outcome = RebindOutcome.REJECTED_TRANSITION_STATE
    elif state is not SessionState.CONNECTED:
        outcome = RebindOutcome.DEFERRED_UNTIL_STARTUP
    elif not multi_character_room:
        return RoomRebindStateChanged(
            outcome=RebindOutcome.PENDING_RECONNECT,
            requested=requested,
            active=active,
            reconnect_required=True,
            previous=active,
        )
    else:
        return None
    return RoomRebindStateChanged(
        outcome=outcome, requested=requested, active=active, previous=active
    )


def _ack_code(status: str, message: str | None, extras: Mapping[str, Any]) -> str:
    for key in ("code", "error_code", "error"):
        value = extras.get(key)
        if isinstance(value, str) and value:
            return value
    return status if status and status not in _SUCCESS else "rejected"


def _answers(pending: _Pending | None, command_id: object) -> bool:
    """Whether an ack answers the pending command: its `command_id`, or none at all (a bare
    error ack, e.g. a validation error, can only be answering what we sent)."""
    return pending is not None and command_id in (pending.command.id, None)


class RosterCommands:
    """The two command gates over one `Roster`; `clock` is monotonic seconds (injected)."""

    def __init__(
        self,
        roster: Roster,
        *,
        clock: Callable[[], float],
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.roster = roster
        self._clock = clock
        self._new_id = new_id
        self._target: _Pending | None = None
        self._cast: _Pending | None = None

    @property
    def target_in_flight(self) -> OutboundCommand | None:
        return self._target.command if self._target else None

    @property
    def roster_in_flight(self) -> OutboundCommand | None:
        return self._cast.command if self._cast else None

    def next_deadline(self) -> float | None:
        deadlines = [p.deadline for p in (self._target, self._cast) if p is not None]
        return min(deadlines, default=None)

    # -- interaction target -------------------------------------------------------------
    def _rebind(
        self,
        outcome: RebindOutcome,
        requested_mid: str | None,
        requested_cid: str | None,
        previous_cid: str | None,
    ) -> RoomRebindStateChanged:
        target = self.roster.target
        return RoomRebindStateChanged(
            outcome=outcome,
            requested=requested_cid,
            active=target.character_id if target else None,
            previous=previous_cid,
            requested_membership_id=requested_mid,
            active_membership_id=self.roster.active_membership_id,
        )

    def set_target(self, membership_id: str | None) -> CommandResult:
        """Ask to route input to `membership_id` (None clears the target)."""
        roster = self.roster
        member = roster.get(membership_id)
        current = roster.target
        previous_cid = current.character_id if current else None
        requested_cid = member.character_id if member else None
        refusal: str | None = None
        outcome = RebindOutcome.REJECTED_INVALID_OWNERSHIP
        if self._target is not None:
            refusal = "A target switch is already waiting for its acknowledgement."
            outcome = RebindOutcome.REJECTED_TRANSITION_STATE
        elif membership_id is not None and member is None:
            refusal = f"The membership {membership_id} is not part of the current room."
        elif member is not None and member.status is MemberStatus.FAILED:
            refusal = (
                f"{member.display_name} failed to start "
                f"({member.failure_code or 'unknown'}); it cannot be the target."
            )
        if refusal is not None:
            return CommandResult(
                None, (self._rebind(outcome, membership_id, requested_cid, previous_cid),), refusal
            )
        command = OutboundCommand(
            self._new_id(),
            TARGET_COMMAND,
            {
                "room_session_id": roster.room_session_id,
                "target_membership_id": membership_id,
                "expected_route_epoch": roster.route_epoch,
            },
        )
        self._target = _Pending(
            command,
            self._clock() + TARGET_ACK_TIMEOUT_S,
            membership_id,
            requested_cid,
            previous_cid,
        )
        return CommandResult(command)

    # -- the cast -----------------------------------------------------------------------
    def update_roster(
        self,
        add: Sequence[CharacterSpec] = (),
        remove: Sequence[str] = (),
        replacement_target: str | None = None,
    ) -> CommandResult:
        """Add instances (clones allowed) and/or remove memberships, in one command."""
        roster = self.roster
        refusal = self._roster_refusal(add, remove, replacement_target)
        if refusal is not None:
            return CommandResult(None, refused=refusal)
        data: dict[str, Any] = {
            "room_session_id": roster.room_session_id,
            "expected_roster_epoch": roster.roster_epoch,
            "add": [spec.body() for spec in add],
            "remove_membership_ids": list(remove),
        }
        if replacement_target is not None:
            data["replacement_target_membership_id"] = replacement_target
        command = OutboundCommand(self._new_id(), ROSTER_COMMAND, data)
        self._cast = _Pending(command, self._clock() + ROSTER_ACK_TIMEOUT_S)
        return CommandResult(command)

    def _roster_refusal(
        self, add: Sequence[CharacterSpec], remove: Sequence[str], replacement: str | None
    ) -> str | None:
        roster = self.roster
        if self._cast is not None:
            return "A roster change is already waiting for its acknowledgement."
        if not add and not remove:
            return "Nothing to add or remove."
        if any(not spec.character_id.strip() for spec in add):
            return "The character must have a character ID."
        for mid in remove:
            if roster.get(mid) is None:
                return f"The membership {mid} is not part of the current room."
        if len(set(remove)) != len(remove):
            return "A membership is listed twice for removal."
        sessions = {m.character_session_id for m in roster.members if m.character_session_id}
        for spec in add:
            if spec.character_session_id and spec.character_session_id in sessions:
                return (
                    f"Character session id {spec.character_session_id} is already in "
                    "the room; session ids must be unique."
                )
            if spec.character_session_id:
                sessions.add(spec.character_session_id)
        if len(roster.members) - len(remove) + len(add) < 1:
            return "The roster cannot become empty; add a character or keep one."
        if replacement is not None:
            if replacement in remove:
                return "The replacement target cannot be the membership being removed."
            member = roster.get(replacement)
            if member is None:
                return "The replacement target is not part of the current room."
            if member.status is not MemberStatus.READY:
                return f"The replacement target {member.display_name} is not ready."
        return None

    # -- acks and timeouts --------------------------------------------------------------
    def on_server_response(
        self, event_type: str, status: str, message: str | None, extras: Mapping[str, Any] | None
    ) -> list[Event] | None:
        """Handle a `server-response` for our two commands; None when it is for another."""
        if event_type not in (TARGET_COMMAND, ROSTER_COMMAND):
            return None
        extras = extras or {}
        ok = status in _SUCCESS and extras.get("success") is not False
        command_id = extras.get("command_id")
        if event_type == TARGET_COMMAND:
            return self._on_target_ack(ok, status, message, extras, command_id)
        return self._on_roster_ack(ok, status, message, extras, command_id)

    def _on_target_ack(
        self,
        ok: bool,
        status: str,
        message: str | None,
        extras: Mapping[str, Any],
        command_id: object,
    ) -> list[Event]:
        pending = self._target
        ours = _answers(pending, command_id)
        if ours:
            self._target = None
        events: list[Event] = []
        if ok:
            # Stale or duplicate acks (epoch not greater) are dropped inside apply_route.
            changed = self.roster.apply_route(
                extras.get("active_membership_id") or None, extras.get("route_epoch")
            )
            events += changed
            if changed:
                events.append(self.roster.snapshot())
        if ours and pending is not None:
            if not ok:
                events.append(
                    RosterCommandFailed(
                        command=TARGET_COMMAND,
                        command_id=pending.command.id,
                        code=_ack_code(status, message, extras),
                        message=message or "Interaction target update failed.",
                    )
                )
            outcome = (
                RebindOutcome.APPLIED_IMMEDIATELY
                if ok
                else RebindOutcome.REJECTED_INVALID_OWNERSHIP
            )
            events.append(
                self._rebind(
                    outcome,
                    pending.requested_membership_id,
                    pending.requested_character_id,
                    pending.previous_character_id,
                )
            )
        return events

    def _on_roster_ack(
        self,
        ok: bool,
        status: str,
        message: str | None,
        extras: Mapping[str, Any],
        command_id: object,
    ) -> list[Event]:
        pending = self._cast
        ours = _answers(pending, command_id)
        if ours:
            self._cast = None
        if ok:
            return self.roster.apply_roster_ack(extras)
        if ours and pending is not None:
            return [
                RosterCommandFailed(
                    command=ROSTER_COMMAND,
                    command_id=pending.command.id,
                    code=_ack_code(status, message, extras),
                    message=message or "Character roster update failed.",
                )
            ]
        return []

    def poll(self) -> list[Event]:
        """Time out commands whose ack is overdue; call when `next_deadline()` has passed."""
        now = self._clock()
        events: list[Event] = []
        for attr in ("_target", "_cast"):
            pending: _Pending | None = getattr(self, attr)
            if pending is not None and now >= pending.deadline:
                setattr(self, attr, None)
                events.append(
                    RosterCommandFailed(
                        command=pending.command.type,
                        command_id=pending.command.id,
                        code=ACK_TIMEOUT_CODE,
                        message=_TIMEOUT_MESSAGES[pending.command.type],
                    )
                )
        return events
