"""The documented multi-character flows, client roster against the stand-in's room roster
in-process (messages cross as bytes): each ends as Convai's pages describe."""

from convai_tui.core.api.events import ErrorRaised, LogRecorded
from convai_tui.core.multi.commands import RosterCommands
from convai_tui.core.multi.events import (
    InteractionTargetChanged,
    MemberStatus,
    RebindOutcome,
    RoomRebindStateChanged,
    RosterCommandFailed,
)
from convai_tui.core.multi.roster import Roster
from convai_tui.core.rtvi.protocol import parse_inbound
from convai_tui.core.settings.multi_config import CharacterSpec
from convai_tui.core.settings.room_request import parse_room_response
from convai_tui.local.character import rtvi
from tests.unit.room_wire import Wire
from tests.unit.rooms import Clock, types


def test_three_instances_one_clone_one_failed_only_the_target_answers() -> None:
    wire = Wire(["ada", "ada", "cy"])
    roster, room = wire.roster, wire.room
    assert types(roster.initial_events()) == ["roster", "log"]  # cy: dispatch_failed
    assert [m.display_name for m in roster.members] == ["ada #1", "ada #2", "cy"]
    wire.start_all()
    assert roster.is_ready and roster.input_refusal() is None
    first, clone, failed = (m.membership_id for m in roster.members)
    assert room.responder().membership_id == first  # type: ignore[union-attr]
    wire.send(wire.cmds.set_target(clone).command)
    events = wire.settle()
    assert types(events) == ["interaction_target_changed", "roster", "rebind"]
    rebind = events[-1]
    assert isinstance(rebind, RoomRebindStateChanged)
    assert rebind.outcome is RebindOutcome.APPLIED_IMMEDIATELY
    assert (rebind.requested, rebind.active) == ("ada", "ada")  # a clone: same character id
    assert rebind.active_membership_id == clone
    answering = room.responder()
    assert answering is not None and answering.membership_id == clone
    assert roster.resolve(None, answering.participant_identity).membership_id == clone  # type: ignore[union-attr]
    refused = wire.cmds.set_target(failed)
    assert refused.command is None and "dispatch_failed" in (refused.refused or "")


def test_a_failed_initial_character_is_an_error_naming_its_code() -> None:
    wire = Wire(["cy", "ada"])
    events = wire.roster.initial_events()
    [error] = [e for e in events if isinstance(e, ErrorRaised)]
    assert error.error.code == "session.initial_character_failed"
    assert "(dispatch_failed)" in error.error.message
    wire.start_all()
    assert not wire.roster.is_ready and wire.roster.initial_failed
    assert wire.room.responder() is None


def test_add_then_remove_the_target_with_a_replacement_in_the_documented_order() -> None:
    wire = Wire(["ada", "bob"])
    wire.start_all()
    first, second = (m.membership_id for m in wire.roster.members)
    wire.send(wire.cmds.update_roster(add=[CharacterSpec("ada")]).command)
    added = wire.settle()
    assert types(added)[:2] == ["character_added", "character_status"]
    assert wire.roster.members[-1].display_name == "ada #2"
    wire.start_all()
    wire.send(wire.cmds.update_roster(remove=[first], replacement_target=second).command)
    events = wire.settle()
    order = [e for e in events if e.TYPE in ("interaction_target_changed", "character_removed")]
    assert types(order) == [
        "interaction_target_changed",
        "character_removed",
        "interaction_target_changed",
    ]
    assert isinstance(order[0], InteractionTargetChanged) and order[0].current is None
    assert isinstance(order[2], InteractionTargetChanged) and order[2].current == second
    assert wire.room.responder().membership_id == second  # type: ignore[union-attr]
    assert wire.roster.roster_epoch == wire.room.roster_epoch == 2


def test_an_ack_that_never_comes_times_out_and_a_resend_gets_it() -> None:
    wire = Wire(["ada", "bob"], drop_acks=frozenset({"character-roster-update"}))
    wire.start_all()
    command = wire.cmds.update_roster(add=[CharacterSpec("bob")]).command
    wire.send(command)
    wire.settle()
    wire.clock.advance(15.0)
    [timeout] = wire.cmds.poll()
    assert isinstance(timeout, RosterCommandFailed) and timeout.code == "ack_timeout"
    # The change was applied all the same, and the lifecycle message told the client.
    assert len(wire.roster.members) == 3 and wire.roster.roster_epoch == 1
    assert command is not None
    wire.send(command)  # same id, same payload: the stand-in answers it again, no change
    wire.settle()
    assert len(wire.room.instances) == 3 and wire.room.roster_epoch == 1


def test_a_command_sent_on_an_old_roster_epoch_is_rejected_with_its_code() -> None:
    wire = Wire(["ada", "bob"])
    wire.start_all()
    wire.send(wire.cmds.update_roster(add=[CharacterSpec("bob")]).command)
    wire.clock.advance(15.0)
    wire.cmds.poll()  # timed out before the stand-in even saw it
    wire.send(wire.cmds.update_roster(add=[CharacterSpec("ada")]).command)
    events = wire.settle()
    [failed] = [e for e in events if isinstance(e, RosterCommandFailed)]
    assert failed.code == "roster_epoch_mismatch"
    assert len(wire.room.instances) == len(wire.roster.members) == 3


def test_a_joined_human_is_an_unauthorized_sender_for_the_cast() -> None:
    wire = Wire(["ada", "bob"])
    wire.room.join("human:two")
    info = parse_room_response(wire.room.connect_fields())
    assert info is not None
    other = RosterCommands(Roster(info), clock=Clock(), new_id=lambda: "other-1")
    command = other.update_roster(add=[CharacterSpec("bob")]).command
    assert command is not None
    [reply] = wire.serve(command, sender="human:two")
    data = parse_inbound(reply).data
    events = (
        other.on_server_response(
            data["event_type"], data["status"], data.get("message"), data["extras"]
        )
        or []
    )
    [failed] = events
    assert isinstance(failed, RosterCommandFailed) and failed.code == "unauthorized_sender"
    assert len(wire.room.instances) == 2


def test_a_stale_epoch_ack_from_the_stand_in_is_dropped() -> None:
    wire = Wire(["ada", "bob"], stale_acks=True)
    wire.start_all()
    first, second = (m.membership_id for m in wire.roster.members)
    wire.send(wire.cmds.set_target(second).command)
    wire.settle()
    wire.send(wire.cmds.set_target(first).command)
    events = wire.settle()  # the fresh ack, then the previous one again
    assert wire.roster.active_membership_id == first == wire.room.active_membership_id
    assert [e.current for e in events if isinstance(e, InteractionTargetChanged)] == [first]


def test_slow_secondary_readiness_does_not_block_the_room() -> None:
    wire = Wire(["ada", "bob"])
    first, second = list(wire.room.instances)
    wire.to_client += [rtvi.encode(out.message) for out in wire.room.mark_ready(first)]
    events = wire.settle()
    assert wire.roster.is_ready
    assert wire.roster.get(second).status is MemberStatus.STARTING  # type: ignore[union-attr]
    assert not [e for e in events if isinstance(e, LogRecorded | ErrorRaised)]
