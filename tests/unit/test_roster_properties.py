"""Property-based: random command/ack interleavings never let a stale ack move the target and
never empty the roster — first against made-up acks, then against the stand-in's room roster
in-process (its messages encoded and parsed as on the wire, reordered, duplicated, replayed)."""

from __future__ import annotations

from itertools import count
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convai_tui.core.events import Event
from convai_tui.core.multi_config import CharacterSpec
from convai_tui.core.multi_connect import parse_room_response
from convai_tui.core.protocol import parse_inbound
from convai_tui.core.roster import Roster
from convai_tui.core.roster_commands import OutboundCommand, RosterCommands
from convai_tui.core.roster_events import (
    CharacterRemoved,
    InteractionTargetChanged,
    MemberStatus,
)
from convai_tui.local import rtvi
from convai_tui.local.room_roster import RoomPolicy, RoomRoster
from tests.unit.rooms import Clock, three_room

MIDS = ["m1", "m2", "m3", "m4", "m5", "m6"]
maybe_mid = st.sampled_from([*MIDS, None])
epoch = st.integers(0, 8)

client_actions = st.one_of(
    st.tuples(st.just("target"), maybe_mid),
    st.tuples(st.just("roster"), st.lists(st.sampled_from(["ada", "bob"]), max_size=2),
              st.lists(st.sampled_from(MIDS), max_size=2, unique=True), maybe_mid),
    st.tuples(st.just("target_ack"), st.booleans(), maybe_mid, epoch, st.booleans()),
    st.tuples(st.just("roster_ack"), st.booleans(),
              st.lists(st.sampled_from(["m4", "m5", "m6"]), max_size=2, unique=True),
              st.lists(st.sampled_from(MIDS), max_size=3, unique=True), maybe_mid, epoch,
              epoch, st.booleans()),
    st.tuples(st.just("status"), st.sampled_from(MIDS),
              st.sampled_from(["starting", "ready", "failed"]), epoch),
    st.tuples(st.just("removed"), st.sampled_from(MIDS), epoch),
    st.tuples(st.just("tick"), st.floats(0, 20)),
)


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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(client_actions, max_size=40))
def test_no_stale_ack_moves_the_target_and_the_roster_never_empties(
        actions: list[tuple[Any, ...]]) -> None:
    roster = three_room()
    clock = Clock()
    ids = count(1)
    cmds = RosterCommands(roster, clock=clock, new_id=lambda: f"c{next(ids)}")
    removed: set[str] = set()
    for action in actions:
        kind = action[0]
        active, route, cast = roster.active_membership_id, roster.route_epoch, roster.roster_epoch
        target_busy, roster_busy = cmds.target_in_flight, cmds.roster_in_flight
        events: list[Event] = []
        if kind == "target":
            result = cmds.set_target(action[1])
            assert result.command is None or target_busy is None
            events += result.events
        elif kind == "roster":
            result = cmds.update_roster([CharacterSpec(c) for c in action[1]], action[2],
                                        action[3])
            assert result.command is None or roster_busy is None
        elif kind == "target_ack":
            _, ours, mid, ep, ok = action
            command_id = target_busy.id if ours and target_busy else "stranger"
            events += cmds.on_server_response(
                "interaction-target", "success" if ok else "error", None,
                {"success": ok, "command_id": command_id, "active_membership_id": mid,
                 "route_epoch": ep, "changed": True}) or []
            if ep <= route or not ok:
                assert roster.active_membership_id == active, "a stale ack moved the target"
        elif kind == "roster_ack":
            _, ours, added, gone, mid, route_ep, cast_ep, ok = action
            command_id = roster_busy.id if ours and roster_busy else "stranger"
            events += cmds.on_server_response(
                "character-roster-update", "success" if ok else "error", None,
                {"success": ok, "command_id": command_id, "route_epoch": route_ep,
                 "roster_epoch": cast_ep, "active_membership_id": mid,
                 "added": [{"membership_id": a, "character_id": "bob"} for a in added],
                 "removed_membership_ids": gone}) or []
            if not ok or (route_ep <= route and cast_ep < cast):
                assert roster.active_membership_id == active, "a stale ack moved the target"
        elif kind == "status":
            events += roster.on_character_status({"membership_id": action[1],
                                                  "character_id": "ada", "status": action[2],
                                                  "roster_epoch": action[3]})
        elif kind == "removed":
            events += roster.on_character_removed({"membership_id": action[1],
                                                   "roster_epoch": action[2]})
        else:
            clock.advance(action[1])
            events += cmds.poll()
        check_removal_order(events, active)
        removed |= {e.member.membership_id for e in events if isinstance(e, CharacterRemoved)}
        assert roster.members, "the roster became empty"
        assert roster.route_epoch >= route and roster.roster_epoch >= cast
        assert roster.active_membership_id not in removed


# -- the client and the stand-in, in-process ------------------------------------------------
OWNER = "human:owner"
KNOWN = {"ada", "bob", "cy"}

pair_actions = st.one_of(
    st.tuples(st.just("target"), st.integers(0, 9) | st.none()),
    st.tuples(st.just("add"), st.sampled_from(sorted(KNOWN))),
    st.tuples(st.just("remove"), st.integers(0, 9), st.integers(0, 9) | st.none()),
    st.tuples(st.just("ready"), st.integers(0, 9)),
    st.tuples(st.just("serve"), st.integers(0, 9)),
    st.tuples(st.just("resend"), st.integers(0, 9)),
    st.tuples(st.just("deliver"), st.integers(0, 9)),
    st.tuples(st.just("replay"), st.integers(0, 9)),
    st.tuples(st.just("tick"), st.sampled_from([1.0, 5.0, 11.0, 16.0])),
)


class Wire:
    """The stand-in's room and the client's roster, with reordering queues between them."""

    def __init__(self, characters: list[str], *, stale_acks: bool = False) -> None:
        ids = count(1)
        policy = RoomPolicy(roster_limit=6, dispatch_fail=frozenset({"cy"}),
                            stale_acks=stale_acks)
        self.room = RoomRoster.create(
            {"characters": [{"character_id": c} for c in characters], "end_user_id": "u"},
            owner=OWNER, known=KNOWN, policy=policy, new_id=lambda: f"x{next(ids)}")
        info = parse_room_response(self.room.connect_fields())
        assert info is not None
        self.roster = Roster(info)
        self.clock = Clock()
        cmd_ids = count(1)
        self.cmds = RosterCommands(self.roster, clock=self.clock,
                                   new_id=lambda: f"c{next(cmd_ids)}")
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

    def serve(self, command: OutboundCommand) -> None:
        room = self.room
        # The command crosses the wire as bytes, parsed the way the stand-in's bot parses.
        parsed = rtvi.parse_client_packet(rtvi.encode(command.message()))
        if parsed.type == "interaction-target":
            out = room.handle_interaction_target(OWNER, parsed.message_id, parsed.data)
        else:
            out = room.handle_roster_update(OWNER, parsed.message_id, parsed.data, KNOWN)
        self.to_client += [rtvi.encode(o.message) for o in out if o.to in (None, OWNER)]

    def deliver(self, payload: bytes) -> list[Event]:
        message = parse_inbound(payload)
        data = message.data
        if message.type == "server-response":
            self.acks.append(payload)
            extras = data.get("extras")
            return self.cmds.on_server_response(
                str(data.get("event_type")), str(data.get("status")), data.get("message"),
                extras if isinstance(extras, dict) else None) or []
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
            self.send(self.cmds.update_roster(remove=[self.pick(action[1]) or ""],
                                              replacement_target=self.pick(action[2])).command)
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

    def settle(self) -> None:
        while self.to_server or self.to_client:
            while self.to_server:
                self.serve(self.to_server.pop(0))
            while self.to_client:
                self.deliver(self.to_client.pop(0))


def _ack_epoch(payload: bytes) -> int | None:
    message = parse_inbound(payload)
    if message.type != "server-response" or message.data.get("event_type") != (
            "interaction-target"):
        return None
    extras = message.data.get("extras") or {}
    value = extras.get("route_epoch")
    return value if extras.get("success") and isinstance(value, int) else None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(sorted(KNOWN)), min_size=1, max_size=4),
       st.lists(pair_actions, max_size=60), st.booleans())
def test_client_and_stand_in_agree_whatever_the_interleaving(
        characters: list[str], actions: list[tuple[Any, ...]], stale_acks: bool) -> None:
    """Whatever the order, duplicates and the stand-in's stale-ack fault: once every message
    is through, the client's room is the stand-in's room."""
    wire = Wire(characters, stale_acks=stale_acks)
    for action in actions:
        wire.step(action)
    wire.settle()
    roster, room = wire.roster, wire.room
    assert roster.active_membership_id == room.active_membership_id
    assert (roster.route_epoch, roster.roster_epoch) == (room.route_epoch, room.roster_epoch)
    assert [m.membership_id for m in roster.members] == list(room.instances)
    for m in roster.members:
        assert m.status.value == room.instances[m.membership_id].status
    responder = room.responder()
    assert (responder is not None) == (roster.input_refusal() is None)
    if responder is not None:
        assert roster.target is not None
        assert roster.target.participant_identity == responder.participant_identity
        assert roster.target.status is MemberStatus.READY
