"""Property-based: random command/ack interleavings never let a stale ack move the target and
never empty the roster — first against made-up acks, then against the stand-in's room roster
in-process (its messages encoded and parsed as on the wire, reordered, duplicated, replayed)."""

from __future__ import annotations

from itertools import count
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convai_tui.core.api.events import Event
from convai_tui.core.multi.commands import RosterCommands
from convai_tui.core.multi.events import CharacterRemoved, MemberStatus
from convai_tui.core.settings.multi_config import CharacterSpec
from tests.unit.room_wire import KNOWN, Wire, check_removal_order
from tests.unit.rooms import Clock, three_room

MIDS = ["m1", "m2", "m3", "m4", "m5", "m6"]
maybe_mid = st.sampled_from([*MIDS, None])
epoch = st.integers(0, 8)

client_actions = st.one_of(
    st.tuples(st.just("target"), maybe_mid),
    st.tuples(
        st.just("roster"),
        st.lists(st.sampled_from(["ada", "bob"]), max_size=2),
        st.lists(st.sampled_from(MIDS), max_size=2, unique=True),
        maybe_mid,
    ),
    st.tuples(st.just("target_ack"), st.booleans(), maybe_mid, epoch, st.booleans()),
    st.tuples(
        st.just("roster_ack"),
        st.booleans(),
        st.lists(st.sampled_from(["m4", "m5", "m6"]), max_size=2, unique=True),
        st.lists(st.sampled_from(MIDS), max_size=3, unique=True),
        maybe_mid,
        epoch,
        epoch,
        st.booleans(),
    ),
    st.tuples(
        st.just("status"),
        st.sampled_from(MIDS),
        st.sampled_from(["starting", "ready", "failed"]),
        epoch,
    ),
    st.tuples(st.just("removed"), st.sampled_from(MIDS), epoch),
    st.tuples(st.just("tick"), st.floats(0, 20)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(client_actions, max_size=40))
def test_no_stale_ack_moves_the_target_and_the_roster_never_empties(
    actions: list[tuple[Any, ...]],
) -> None:
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
            result = cmds.update_roster([CharacterSpec(c) for c in action[1]], action[2], action[3])
            assert result.command is None or roster_busy is None
        elif kind == "target_ack":
            _, ours, mid, ep, ok = action
            command_id = target_busy.id if ours and target_busy else "stranger"
            events += (
                cmds.on_server_response(
                    "interaction-target",
                    "success" if ok else "error",
                    None,
                    {
                        "success": ok,
                        "command_id": command_id,
                        "active_membership_id": mid,
                        "route_epoch": ep,
                        "changed": True,
                    },
                )
                or []
            )
            if ep <= route or not ok:
                assert roster.active_membership_id == active, "a stale ack moved the target"
        elif kind == "roster_ack":
            _, ours, added, gone, mid, route_ep, cast_ep, ok = action
            command_id = roster_busy.id if ours and roster_busy else "stranger"
            events += (
                cmds.on_server_response(
                    "character-roster-update",
                    "success" if ok else "error",
                    None,
                    {
                        "success": ok,
                        "command_id": command_id,
                        "route_epoch": route_ep,
                        "roster_epoch": cast_ep,
                        "active_membership_id": mid,
                        "added": [{"membership_id": a, "character_id": "bob"} for a in added],
                        "removed_membership_ids": gone,
                    },
                )
                or []
            )
            if not ok or (route_ep <= route and cast_ep < cast):
                assert roster.active_membership_id == active, "a stale ack moved the target"
        elif kind == "status":
            events += roster.on_character_status(
                {
                    "membership_id": action[1],
                    "character_id": "ada",
                    "status": action[2],
                    "roster_epoch": action[3],
                }
            )
        elif kind == "removed":
            events += roster.on_character_removed(
                {"membership_id": action[1], "roster_epoch": action[2]}
            )
        else:
            clock.advance(action[1])
            events += cmds.poll()
        check_removal_order(events, active)
        removed |= {e.member.membership_id for e in events if isinstance(e, CharacterRemoved)}
        assert roster.members, "the roster became empty"
        assert roster.route_epoch >= route and roster.roster_epoch >= cast
        assert roster.active_membership_id not in removed


# -- the client and the stand-in, in-process ------------------------------------------------
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(sorted(KNOWN)), min_size=1, max_size=4),
    st.lists(pair_actions, max_size=60),
    st.booleans(),
)
def test_client_and_stand_in_agree_whatever_the_interleaving(
    characters: list[str], actions: list[tuple[Any, ...]], stale_acks: bool
) -> None:
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
