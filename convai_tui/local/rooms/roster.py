"""The stand-in's server side of a multi-character room: instances, epochs, commands, acks.

Pure (no LiveKit, no aiohttp) so it can be unit-tested and driven against the client's roster
model in-process. Shapes follow Convai's Live API page "Use multi-character sessions";
`character-status`, `character-removed` and rejection acks are *inferred* there (the docs name
them, not their fields) and are built here as docs/multi-character.md §4-6 describes.
What a request may ask is local/rooms/policy.py; remembered answers and the ack faults are
local/rooms/acks.py; the live rooms by id or shared key are local/rooms/directory.py.

Wiring (follow-up): `connect_api._connect` calls `RoomDirectory.create` / `join` when the body
has `characters` / `mode: "join"` and merges `RoomRoster.connect_fields()` into its answer; each
instance gets one bot participant (identity = `participant_identity`) that sends
`bot_ready_message`; the bots route `interaction-target` / `character-roster-update` packets to
`handle_*` and send the returned `Outgoing` messages; only `responder()` answers user input.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from convai_tui.local.character import rtvi
from convai_tui.local.rooms.acks import AckLedger, Outgoing
from convai_tui.local.rooms.policy import (
    DISPATCH_FAILED,
    MULTI_CHARACTER_DISABLED,
    ROSTER_LIMIT_EXCEEDED,
    ROSTER_UPDATE,
    TARGET,
    RoomPolicy,
    RoomRefused,
    invalid_field,
    parse_characters,
)


@dataclass
class Instance:
    membership_id: str
    character_id: str
    character_session_id: str
    session_id: str
    participant_identity: str
    is_initial: bool
    provisioning_status: str = "dispatch_accepted"
    failure_code: str | None = None
    status: str = "starting"

    def entry(self) -> dict[str, Any]:
        return {
            "membership_id": self.membership_id,
            "character_id": self.character_id,
            "session_id": self.session_id,
            "character_session_id": self.character_session_id,
            "participant_identity": self.participant_identity,
            "is_initial": self.is_initial,
            "provisioning_status": self.provisioning_status,
            "failure_code": self.failure_code,
        }


class RoomRoster:
    """One room: its instances, its humans, the target and both epochs."""

    def __init__(
        self,
        room_session_id: str,
        owner: str,
        *,
        policy: RoomPolicy,
        max_participants: int | None = None,
        shared_session_key: str | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.room_session_id = room_session_id
        self.owner = owner
        self.humans: list[str] = [owner]
        self.policy = policy
        self.max_participants = max_participants
        self.shared_session_key = shared_session_key
        self.instances: dict[str, Instance] = {}
        self.active_membership_id: str | None = None
        self.route_epoch = 0
        self.roster_epoch = 0
        self.partial_dispatch = False
        self._new_id = new_id
        self._acks = AckLedger(policy)

    # -- creating and joining -----------------------------------------------------------
    @classmethod
    def create(
        cls,
        body: Mapping[str, Any],
        *,
        owner: str,
        known: Container[str],
        policy: RoomPolicy,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> RoomRoster:
        """A room from a `/connect` body with `characters`; RoomRefused = the HTTP error."""
        if not policy.enabled:
            raise RoomRefused(
                403,
                f"{MULTI_CHARACTER_DISABLED}: multi-character sessions "
                "are not enabled for this account",
            )
        characters = parse_characters(body.get("characters"))
        end_user_id = body.get("end_user_id")
        if not isinstance(end_user_id, str) or not end_user_id.strip():
            raise invalid_field(
                "end_user_id is required for a multi-character room", "end_user_id", end_user_id
            )
        if len(characters) > policy.roster_limit:
            raise RoomRefused(
                403,
                f"{ROSTER_LIMIT_EXCEEDED}: {len(characters)} characters "
                f"requested, the limit is {policy.roster_limit}",
            )
        for cid, _ in characters:
            if cid not in known:
                raise RoomRefused(404, "Character not found or doesn't belong to user")
        sessions = [csid for _, csid in characters if csid]
        if len(set(sessions)) != len(sessions):
            raise RoomRefused(400, "Duplicate character_session_id in characters")
        max_participants = body.get("max_num_participants")
        room = cls(
            new_id(),
            owner,
            policy=policy,
            new_id=new_id,
            max_participants=max_participants
            if isinstance(max_participants, int)
            and not isinstance(max_participants, bool)
            and max_participants > 0
            else None,
            shared_session_key=body.get("shared_session_key") or None,
        )
        for index, (cid, csid) in enumerate(characters):
            room._add_instance(cid, csid, is_initial=index == 0)
        room.active_membership_id = next(iter(room.instances))
        room.partial_dispatch = any(i.status == "failed" for i in room.instances.values())
        return room

    def _add_instance(
        self, character_id: str, character_session_id: str | None, *, is_initial: bool
    ) -> Instance:
        membership_id = self._new_id()
        instance = Instance(
            membership_id=membership_id,
            character_id=character_id,
            character_session_id=character_session_id or self._new_id(),
            session_id=self._new_id(),
            participant_identity=f"character-{character_id[:8]}-{membership_id[:8]}",
            is_initial=is_initial,
        )
        if character_id in self.policy.dispatch_fail:
            instance.provisioning_status = DISPATCH_FAILED
            instance.failure_code = DISPATCH_FAILED
            instance.status = "failed"
        self.instances[membership_id] = instance
        return instance

    def join(self, identity: str) -> None:
        """A second human (`mode: "join"`); the participant limit counts humans."""
        if identity in self.humans:
            return
        if self.max_participants is not None and len(self.humans) >= self.max_participants:
            raise RoomRefused(
                403,
                f"participant_limit_reached: the room allows {self.max_participants} participants",
            )
        self.humans.append(identity)

    def connect_fields(self) -> dict[str, Any]:
        """What `/connect` adds to its answer for this room."""
        return {
            "room_session_id": self.room_session_id,
            "active_membership_id": self.active_membership_id,
            "route_epoch": self.route_epoch,
            "roster_epoch": self.roster_epoch,
            "partial_dispatch": self.partial_dispatch,
            "characters": [i.entry() for i in self.instances.values()],
        }

    # -- lifecycle messages -------------------------------------------------------------
    def about(self, membership_id: str) -> dict[str, Any]:
        i = self.instances[membership_id]
        return {
            "room_session_id": self.room_session_id,
            "membership_id": i.membership_id,
            "character_id": i.character_id,
            "character_session_id": i.character_session_id,
            "participant_identity": i.participant_identity,
            "is_initial": i.is_initial,
            "roster_epoch": self.roster_epoch,
        }

    def status_message(self, membership_id: str) -> Outgoing:
        i = self.instances[membership_id]
        data = {**self.about(membership_id), "status": i.status, "failure_code": i.failure_code}
        return Outgoing(rtvi.form_a("character-status", data), sender=membership_id)

    def mark_ready(self, membership_id: str) -> list[Outgoing]:
        """A starting instance is up: `character-status` ready, then its own `bot-ready`."""
        instance = self.instances.get(membership_id)
        if instance is None or instance.status != "starting":
            return []
        instance.status = "ready"
        return self.ready_messages(membership_id)

    def ready_messages(self, membership_id: str) -> list[Outgoing]:
        """A ready instance's `character-status` then its `bot-ready` (also what a human who
        joins later is told); nothing for an instance that is not ready."""
        instance = self.instances.get(membership_id)
        if instance is None or instance.status != "ready":
            return []
        bot_ready = rtvi.form_a(
            "bot-ready", {"version": "1.0.0", "about": self.about(membership_id)}
        )
        return [self.status_message(membership_id), Outgoing(bot_ready, sender=membership_id)]

    def responder(self) -> Instance | None:
        """The only instance that answers a user's text or speech: the ready target."""
        target = self.instances.get(self.active_membership_id or "")
        return target if target is not None and target.status == "ready" else None

    # -- commands -----------------------------------------------------------------------
    def _reject(
        self, event_type: str, command_id: str | None, code: str, message: str, sender: str
    ) -> list[Outgoing]:
        extras = {
            "success": False,
            "command_id": command_id,
            "code": code,
            "room_session_id": self.room_session_id,
            "route_epoch": self.route_epoch,
            "roster_epoch": self.roster_epoch,
        }
        return [Outgoing(rtvi.server_response(event_type, "error", message, extras), to=sender)]

    def handle_interaction_target(
        self, sender: str, command_id: str | None, data: Any
    ) -> list[Outgoing]:
        reject = partial(self._reject, TARGET, command_id, sender=sender)
        replay = self._acks.replayed(command_id, data, sender, reject)
        if replay is not None:
            return replay
        answer = self._interaction_target(sender, command_id, data)
        self._acks.remember(command_id, data, answer)
        return self._acks.with_faults(TARGET, answer)

    def _interaction_target(self, sender: str, command_id: str | None, data: Any) -> list[Outgoing]:
        data = data if isinstance(data, Mapping) else {}
        reject = self._common_rejection(TARGET, sender, command_id, data, owner_only=False)
        if reject:
            return reject
        if data.get("expected_route_epoch") != self.route_epoch:
            return self._reject(
                TARGET,
                command_id,
                "route_epoch_mismatch",
                f"expected_route_epoch is {data.get('expected_route_epoch')!r};"
                f" the room is at route epoch {self.route_epoch}.",
                sender,
            )
        target = data.get("target_membership_id")
        if target is not None:
            instance = self.instances.get(target) if isinstance(target, str) else None
            if instance is None:
                return self._reject(
                    TARGET,
                    command_id,
                    "membership_not_found",
                    f"No membership {target!r} in this room.",
                    sender,
                )
            if instance.status == "failed":
                return self._reject(
                    TARGET,
                    command_id,
                    "membership_failed",
                    f"Membership {target} failed to start.",
                    sender,
                )
        previous = self.active_membership_id
        changed = target != previous
        if changed:
            self.active_membership_id = target
            self.route_epoch += 1
        extras = {
            "success": True,
            "command_id": command_id,
            "room_session_id": self.room_session_id,
            "previous_membership_id": previous,
            "active_membership_id": self.active_membership_id,
            "route_epoch": self.route_epoch,
            "changed": changed,
        }
        return [Outgoing(rtvi.server_response(TARGET, "success", None, extras), to=sender)]

    def _common_rejection(
        self,
        event_type: str,
        sender: str,
        command_id: str | None,
        data: Mapping[str, Any],
        *,
        owner_only: bool,
    ) -> list[Outgoing]:
        if sender not in self.humans or (owner_only and sender != self.owner):
            return self._reject(
                event_type,
                command_id,
                "unauthorized_sender",
                "This participant may not change the room.",
                sender,
            )
        if data.get("room_session_id") != self.room_session_id:
            return self._reject(
                event_type,
                command_id,
                "room_session_mismatch",
                "room_session_id does not name this room.",
                sender,
            )
        return []

    def handle_roster_update(
        self, sender: str, command_id: str | None, data: Any, known: Container[str]
    ) -> list[Outgoing]:
        reject = partial(self._reject, ROSTER_UPDATE, command_id, sender=sender)
        replay = self._acks.replayed(command_id, data, sender, reject)
        if replay is not None:
            return replay
        answer = self._roster_update(sender, command_id, data, known)
        self._acks.remember(command_id, data, answer)
        return self._acks.with_faults(ROSTER_UPDATE, answer)

    def _roster_update(
        self, sender: str, command_id: str | None, data: Any, known: Container[str]
    ) -> list[Outgoing]:
        data = data if isinstance(data, Mapping) else {}
        reject = self._common_rejection(ROSTER_UPDATE, sender, command_id, data, owner_only=True)
        if reject:
            return reject
        if data.get("expected_roster_epoch") != self.roster_epoch:
            return self._reject(
                ROSTER_UPDATE,
                command_id,
                "roster_epoch_mismatch",
                f"expected_roster_epoch is "
                f"{data.get('expected_roster_epoch')!r}; the roster is at "
                f"epoch {self.roster_epoch}.",
                sender,
            )
        problem = self._roster_problem(data, known)
        if problem is not None:
            return self._reject(ROSTER_UPDATE, command_id, problem[0], problem[1], sender)
        return self._apply_roster_update(sender, command_id, data)

    def _roster_problem(
        self, data: Mapping[str, Any], known: Container[str]
    ) -> tuple[str, str] | None:
        add = data.get("add") or []
        remove = data.get("remove_membership_ids") or []
        if not isinstance(add, list) or not isinstance(remove, list):
            return "invalid_payload", "add and remove_membership_ids must be lists."
        try:
            adds = parse_characters(add) if add else []
        except RoomRefused:
            return "invalid_payload", "every added character needs a character_id."
        for cid, _ in adds:
            if cid not in known:
                return "character_not_found", f"Character {cid} not found."
        sessions = [i.character_session_id for i in self.instances.values()]
        new_sessions = [csid for _, csid in adds if csid]
        if len(set(sessions + new_sessions)) != len(sessions) + len(new_sessions):
            return "duplicate_character_session_id", "A character session id is in use."
        if any(mid not in self.instances for mid in remove) or len(set(remove)) != len(remove):
            return "membership_not_found", "A membership to remove is not in this room."
        size = len(self.instances) - len(remove) + len(adds)
        if size < 1:
            return "roster_empty", "The roster cannot become empty."
        if size > self.policy.roster_limit:
            return ROSTER_LIMIT_EXCEEDED, f"The room allows {self.policy.roster_limit}."
        replacement = data.get("replacement_target_membership_id")
        if replacement is not None:
            instance = self.instances.get(replacement) if isinstance(replacement, str) else None
            if instance is None or replacement in remove:
                return (
                    "invalid_replacement_target",
                    "The replacement target must stay in the room.",
                )
            if instance.status != "ready":
                return "replacement_not_ready", "The replacement target is not ready."
        return None

    def _apply_roster_update(
        self, sender: str, command_id: str | None, data: Mapping[str, Any]
    ) -> list[Outgoing]:
        adds = parse_characters(data.get("add")) if data.get("add") else []
        remove: Sequence[str] = data.get("remove_membership_ids") or []
        added = [self._add_instance(cid, csid, is_initial=False) for cid, csid in adds]
        if added:
            self.partial_dispatch = self.partial_dispatch or any(
                i.status == "failed" for i in added
            )
        removed = [self.instances.pop(mid) for mid in remove]
        self.roster_epoch += 1
        if self.active_membership_id in remove:
            self.active_membership_id = None  # clearing does not advance the route epoch
        replacement = data.get("replacement_target_membership_id")
        if isinstance(replacement, str) and replacement != self.active_membership_id:
            self.active_membership_id = replacement
            self.route_epoch += 1
        extras = {
            "success": True,
            "command_id": command_id,
            "room_session_id": self.room_session_id,
            "added": [i.entry() for i in added],
            "removed_membership_ids": [i.membership_id for i in removed],
            "active_membership_id": self.active_membership_id,
            "route_epoch": self.route_epoch,
            "roster_epoch": self.roster_epoch,
        }
        out = [Outgoing(rtvi.server_response(ROSTER_UPDATE, "success", None, extras), to=sender)]
        for instance in removed:
            out.append(
                Outgoing(
                    rtvi.form_a(
                        "character-removed",
                        {
                            "room_session_id": self.room_session_id,
                            "membership_id": instance.membership_id,
                            "roster_epoch": self.roster_epoch,
                        },
                    ),
                    sender=instance.membership_id,
                )
            )
        out += [self.status_message(i.membership_id) for i in added]
        return out
