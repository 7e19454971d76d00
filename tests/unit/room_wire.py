"""The client's roster and the stand-in's room roster wired together in-process: every
message crosses as bytes (encoded by the stand-in, parsed by the client's protocol module),
through queues a test can reorder, duplicate and replay."""

from __future__ import annotations

from itertools import count
from typing import Any

from convai_tui.core.api.events import Event
from convai_tui.core.multi.commands import OutboundCommand, RosterCommands
from convai_tui.core.multi.events import CharacterRemoved, InteractionTargetChanged
from convai_tui.core.multi.roster import Roster
from convai_tui.core.rtvi.protocol import parse_inbound
from convai_tui.core.settings.multi_config import CharacterSpec
from convai_tui.core.settings.room_request import parse_room_response
from convai_tui.local.character import rtvi
from convai_tui.local.rooms.policy import RoomPolicy
from convai_tui.local.rooms.roster import RoomRoster
from tests.unit.rooms import Clock


def check_removal_order(events: list[Event], active_before: str | None) -> None:
    """A removed target is cleared (target-changed to none) right before it is removed."""
    active = active_before
    for index, event in enumerate(events):
        if isinstance(event, InteractionTargetChanged):
            assert event.previous == active
            active = event.current
        if isinstance(event, CharacterRemoved) and event.member.membership_id == active_before:
            previous = events[index - 1]
            assert isinstance(previous, InteractionTargetChanged)
            assert (previous.previous, previous.current) == (active_before, None)


OWNER = "human:owner"
KNOWN = {"ada", "bob", "cy"}


class Wire:
    """The stand-in's room and the client's roster, with reordering queues between them."""

    def __init__(self, characters: list[str], **policy_fields: Any) -> None:
        ids = count(1)
        policy = RoomPolicy(
            **{"roster_limit": 6, "dispatch_fail": frozenset({"cy"}), **policy_fields}
        )
        self.room = RoomRoster.create(
            {"characters": [{"character_id": c} for c in characters], "end_user_id": "u"},
            owner=OWNER,
            known=KNOWN,
            policy=policy,
            new_id=lambda: f"x{next(ids)}",
        )
        info = parse_room_response(self.room.connect_fields())
        assert info is not None
        self.roster = Roster(info)
        self.clock = Clock()
        cmd_ids = count(1)
        self.cmds = RosterCommands(
            self.roster, clock=self.clock, new_id=lambda: f"c{next(cmd_ids)}"
        )
        self.to_server: list[OutboundCommand] = []
        self.sent: list[OutboundCommand] = []
        self.to_client: list[bytes] = []
        self.acks: list[bytes] = []

    def pick(self, index: int | None) -> str | None:
        members = self.roster.members
        return None if index is None else members[index % len(members)].membership_id

    def send(self, command: OutboundCommand | None) -> None:
        if command is not None:
            self.to_server.append(command)
            self.sent.append(command)

    def serve(self, command: OutboundCommand, sender: str = OWNER) -> list[bytes]:
        """The stand-in handles one command from `sender`; the owner's share is queued for
        this client, and everything addressed to `sender` is returned."""
        room = self.room
        # The command crosses the wire as bytes, parsed the way the stand-in's bot parses.
        parsed = rtvi.parse_client_packet(rtvi.encode(command.message()))
        if parsed.type == "interaction-target":
            out = room.handle_interaction_target(sender, parsed.message_id, parsed.data)
        else:
            out = room.handle_roster_update(sender, parsed.message_id, parsed.data, KNOWN)
        self.to_client += [rtvi.encode(o.message) for o in out if o.to in (None, OWNER)]
        return [rtvi.encode(o.message) for o in out if o.to in (None, sender)]

    def deliver(self, payload: bytes) -> list[Event]:
        message = parse_inbound(payload)
        data = message.data
        if message.type == "server-response":
            self.acks.append(payload)
            extras = data.get("extras")
            return (
                self.cmds.on_server_response(
                    str(data.get("event_type")),
                    str(data.get("status")),
                    data.get("message"),
                    extras if isinstance(extras, dict) else None,
                )
                or []
            )
        if message.type == "bot-ready":
            return self.roster.on_bot_ready(data)
        if message.type == "character-status":
            return self.roster.on_character_status(data)
        if message.type == "character-removed":
            return self.roster.on_character_removed(data)
        raise AssertionError(f"unexpected {message.type}")

    def step(self, action: tuple[Any, ...]) -> None:
        kind = action[0]
        roster, room = self.roster, self.room
        active, route = roster.active_membership_id, roster.route_epoch
        if kind == "target":
            self.send(self.cmds.set_target(self.pick(action[1])).command)
        elif kind == "add":
            self.send(self.cmds.update_roster(add=[CharacterSpec(action[1])]).command)
        elif kind == "remove":
            self.send(
                self.cmds.update_roster(
                    remove=[self.pick(action[1]) or ""], replacement_target=self.pick(action[2])
                ).command
            )
        elif kind == "ready" and room.instances:
            mid = list(room.instances)[action[1] % len(room.instances)]
            self.to_client += [rtvi.encode(o.message) for o in room.mark_ready(mid)]
        elif kind == "serve" and self.to_server:
            self.serve(self.to_server.pop(action[1] % len(self.to_server)))
        elif kind == "resend" and self.sent:
            self.serve(self.sent[action[1] % len(self.sent)])
        elif kind in ("deliver", "replay"):
            queue = self.to_client if kind == "deliver" else list(self.acks)
            if queue:
                payload = queue[action[1] % len(queue)]
                if kind == "deliver":
                    self.to_client.remove(payload)
                stale = _ack_epoch(payload)
                events = self.deliver(payload)
                check_removal_order(events, active)
                if stale is not None and stale <= route:
                    assert roster.active_membership_id == active, "a stale ack moved the target"
        elif kind == "tick":
            self.clock.advance(action[1])
            self.cmds.poll()
        assert roster.members and room.instances, "a roster became empty"
        assert roster.route_epoch <= room.route_epoch
        assert roster.roster_epoch <= room.roster_epoch

    def settle(self) -> list[Event]:
        """Serve every queued command, then deliver every queued message, in order."""
        events: list[Event] = []
        while self.to_server or self.to_client:
            while self.to_server:
                self.serve(self.to_server.pop(0))
            while self.to_client:
                events += self.deliver(self.to_client.pop(0))
        return events

    def start_all(self) -> list[Event]:
        """Every starting instance of the stand-in reports ready; the client hears it."""
        for mid in list(self.room.instances):
            self.to_client += [rtvi.encode(o.message) for o in self.room.mark_ready(mid)]
        return self.settle()


def _ack_epoch(payload: bytes) -> int | None:
    message = parse_inbound(payload)
    if message.type != "server-response" or message.data.get("event_type") != (
        "interaction-target"
    ):
        return None
    extras = message.data.get("extras") or {}
    value = extras.get("route_epoch")
    return value if extras.get("success") and isinstance(value, int) else None
