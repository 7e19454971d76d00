"""Target switches and cast changes: one in flight, timeouts on an injected clock, stale acks,
rejections with their code, the rebind outcomes and the documented event order."""

from collections.abc import Sequence
from itertools import count

import pytest

from convai_tui.core.api.states import SessionState
from convai_tui.core.multi.commands import (
    ROSTER_ACK_TIMEOUT_S,
    TARGET_ACK_TIMEOUT_S,
    RosterCommands,
    rebind_before_send,
)
from convai_tui.core.multi.events import (
    RebindOutcome,
    RoomRebindStateChanged,
    RosterCommandFailed,
)
from convai_tui.core.settings.multi_config import CharacterSpec
from tests.unit.rooms import Clock, ready_all, three_room, types


def commands(*, failed: str | None = None, ready: bool = True) -> tuple[RosterCommands, Clock]:
    roster = three_room(failed=failed)
    if ready:
        ready_all(roster)
    clock = Clock()
    ids = count(1)
    return RosterCommands(roster, clock=clock, new_id=lambda: f"c{next(ids)}"), clock


def target_ack(
    command_id: str, active: str | None, epoch: int, *, previous: str = "m1", changed: bool = True
) -> dict[str, object]:
    return {
        "success": True,
        "command_id": command_id,
        "room_session_id": "room-1",
        "previous_membership_id": previous,
        "active_membership_id": active,
        "route_epoch": epoch,
        "changed": changed,
    }


def rebind(events: Sequence[object]) -> RoomRebindStateChanged:
    [event] = [e for e in events if isinstance(e, RoomRebindStateChanged)]
    return event


def test_switch_sends_the_documented_command_and_applies_the_ack() -> None:
    cmds, _ = commands()
    result = cmds.set_target("m3")
    assert result.command is not None and result.refused is None
    assert result.command.message() == {
        "label": "rtvi-ai",
        "id": "c1",
        "type": "interaction-target",
        "data": {
            "room_session_id": "room-1",
            "target_membership_id": "m3",
            "expected_route_epoch": 0,
        },
    }
    events = cmds.on_server_response(
        "interaction-target", "success", None, target_ack("c1", "m3", 1)
    )
    assert events is not None
    assert types(events) == ["interaction_target_changed", "roster", "rebind"]
    outcome = rebind(events)
    assert outcome.outcome is RebindOutcome.APPLIED_IMMEDIATELY
    assert (outcome.previous, outcome.requested, outcome.active) == ("ada", "ada", "ada")
    assert outcome.active_membership_id == "m3"  # the clone, told apart by membership
    assert cmds.target_in_flight is None and cmds.roster.route_epoch == 1


def test_one_switch_in_flight_the_second_is_refused_with_a_reason() -> None:
    cmds, _ = commands()
    assert cmds.set_target("m2").command is not None
    second = cmds.set_target("m3")
    assert second.command is None and "already waiting" in (second.refused or "")
    assert rebind(list(second.events)).outcome is RebindOutcome.REJECTED_TRANSITION_STATE


def test_a_stale_or_duplicate_ack_never_moves_the_target() -> None:
    cmds, _ = commands()
    cmds.set_target("m2")
    cmds.on_server_response("interaction-target", "success", None, target_ack("c1", "m2", 1))
    # The same ack again, and an older one, are dropped.
    for extras in (
        target_ack("c1", "m2", 1),
        target_ack("old", "m3", 0),
        target_ack("old", "m3", 1),
    ):
        assert cmds.on_server_response("interaction-target", "success", None, extras) == []
    assert cmds.roster.active_membership_id == "m2"
    # Our own ack whose epoch is not newer completes the command without moving anything.
    cmds.roster.apply_route("m1", 5)
    cmds.set_target("m3")
    events = cmds.on_server_response(
        "interaction-target", "success", None, target_ack("c2", "m3", 5, changed=False)
    )
    assert types(events or []) == ["rebind"] and cmds.roster.active_membership_id == "m1"
    assert rebind(events or []).active_membership_id == "m1"


def test_clearing_the_target_sends_null_and_refuses_input() -> None:
    cmds, _ = commands()
    result = cmds.set_target(None)
    assert result.command is not None and result.command.data["target_membership_id"] is None
    events = cmds.on_server_response(
        "interaction-target", "success", None, target_ack("c1", None, 1)
    )
    assert events is not None and events[0].current is None  # type: ignore[attr-defined]
    assert "No interaction target" in (cmds.roster.input_refusal() or "")


def test_switch_to_a_stranger_or_a_failed_instance_is_rejected_invalid_ownership() -> None:
    cmds, _ = commands(failed="m2")
    for target in ("m9", "m2"):
        result = cmds.set_target(target)
        assert result.command is None and result.refused
        assert rebind(list(result.events)).outcome is RebindOutcome.REJECTED_INVALID_OWNERSHIP
    assert cmds.target_in_flight is None


def test_a_starting_instance_can_be_targeted_but_takes_no_input_yet() -> None:
    cmds, _ = commands(ready=False)
    assert cmds.set_target("m2").command is not None
    cmds.on_server_response("interaction-target", "success", None, target_ack("c1", "m2", 1))
    assert "still starting" in (cmds.roster.input_refusal() or "")


def test_target_rejection_ack_is_shown_with_its_code() -> None:
    cmds, _ = commands()
    cmds.set_target("m2")
    events = cmds.on_server_response(
        "interaction-target",
        "error",
        "epoch moved",
        {"success": False, "command_id": "c1", "code": "route_epoch_mismatch"},
    )
    assert events is not None
    [failed] = [e for e in events if isinstance(e, RosterCommandFailed)]
    assert (failed.code, failed.message) == ("route_epoch_mismatch", "epoch moved")
    assert rebind(events).outcome is RebindOutcome.REJECTED_INVALID_OWNERSHIP
    assert cmds.roster.active_membership_id == "m1"


def test_target_ack_times_out_after_ten_seconds_of_the_clock() -> None:
    cmds, clock = commands()
    cmds.set_target("m2")
    assert cmds.next_deadline() == clock.now + TARGET_ACK_TIMEOUT_S
    clock.advance(TARGET_ACK_TIMEOUT_S - 0.01)
    assert cmds.poll() == [] and cmds.target_in_flight is not None
    clock.advance(0.01)
    [timeout] = cmds.poll()
    assert isinstance(timeout, RosterCommandFailed) and timeout.code == "ack_timeout"
    assert timeout.message == "Timed out waiting for the interaction-target acknowledgement."
    assert cmds.target_in_flight is None and cmds.set_target("m3").command is not None
    # The late ack of the timed-out command is still epoch-guarded, and applies if newer.
    events = cmds.on_server_response(
        "interaction-target", "success", None, target_ack("c1", "m2", 1)
    )
    assert cmds.roster.active_membership_id == "m2" and "rebind" not in types(events or [])


def test_add_a_clone_then_it_starts() -> None:
    cmds, _ = commands()
    result = cmds.update_roster(add=[CharacterSpec("bob")])
    assert result.command is not None
    assert result.command.message()["data"] == {
        "room_session_id": "room-1",
        "expected_roster_epoch": 0,
        "add": [{"character_id": "bob"}],
        "remove_membership_ids": [],
    }
    events = cmds.on_server_response(
        "character-roster-update",
        "success",
        None,
        {
            "success": True,
            "command_id": "c1",
            "room_session_id": "room-1",
            "added": [
                {
                    "membership_id": "m4",
                    "character_id": "bob",
                    "participant_identity": "p4",
                    "provisioning_status": "dispatch_accepted",
                }
            ],
            "removed_membership_ids": [],
            "active_membership_id": "m1",
            "route_epoch": 0,
            "roster_epoch": 1,
        },
    )
    assert types(events or []) == ["character_added", "character_status", "roster"]
    assert cmds.roster.get("m4").display_name == "Bob #2"  # type: ignore[union-attr]
    assert cmds.roster.roster_epoch == 1 and cmds.roster_in_flight is None


def test_remove_the_target_with_a_replacement_in_the_documented_order() -> None:
    cmds, _ = commands()
    result = cmds.update_roster(remove=["m1"], replacement_target="m3")
    assert result.command is not None
    assert result.command.data["replacement_target_membership_id"] == "m3"
    events = cmds.on_server_response(
        "character-roster-update",
        "success",
        None,
        {
            "success": True,
            "command_id": "c1",
            "added": [],
            "removed_membership_ids": ["m1"],
            "active_membership_id": "m3",
            "route_epoch": 1,
            "roster_epoch": 1,
        },
    )
    assert types(events or []) == [
        "interaction_target_changed",
        "character_removed",
        "interaction_target_changed",
        "roster",
    ]
    assert cmds.roster.active_membership_id == "m3"


@pytest.mark.parametrize("code", ["roster_epoch_mismatch", "unauthorized_sender", "other"])
def test_roster_rejections_carry_their_code(code: str) -> None:
    cmds, _ = commands()
    cmds.update_roster(remove=["m2"])
    events = cmds.on_server_response(
        "character-roster-update",
        "error",
        "no",
        {"success": False, "command_id": "c1", "code": code},
    )
    [failed] = events or []
    assert isinstance(failed, RosterCommandFailed) and failed.code == code
    assert cmds.roster.get("m2") is not None and cmds.roster_in_flight is None


def test_roster_update_times_out_after_fifteen_seconds() -> None:
    cmds, clock = commands()
    cmds.update_roster(add=[CharacterSpec("ada")])
    clock.advance(TARGET_ACK_TIMEOUT_S)
    assert cmds.poll() == []
    clock.advance(ROSTER_ACK_TIMEOUT_S - TARGET_ACK_TIMEOUT_S)
    [timeout] = cmds.poll()
    assert timeout.message == (  # type: ignore[attr-defined]
        "Timed out waiting for the character-roster-update "  # type: ignore[attr-defined]
        "acknowledgement."
    )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({}, "Nothing to add"),
        ({"add": [CharacterSpec(" ")]}, "character ID"),
        ({"remove": ["m9"]}, "not part of the current room"),
        ({"remove": ["m2", "m2"]}, "twice"),
        ({"remove": ["m1", "m2", "m3"]}, "cannot become empty"),
        ({"remove": ["m1"], "replacement_target": "m1"}, "cannot be the membership being removed"),
        ({"remove": ["m1"], "replacement_target": "m9"}, "not part of the current room"),
        ({"add": [CharacterSpec("ada", "cs-m1")]}, "already in the room"),
    ],
)
def test_roster_requests_refused_locally(kwargs: dict[str, object], reason: str) -> None:
    cmds, _ = commands()
    result = cmds.update_roster(**kwargs)  # type: ignore[arg-type]
    assert result.command is None and reason in (result.refused or "")


def test_one_roster_change_in_flight_and_a_replacement_must_be_ready() -> None:
    cmds, _ = commands(ready=False)
    result = cmds.update_roster(remove=["m1"], replacement_target="m2")
    assert "not ready" in (result.refused or "")
    assert cmds.update_roster(remove=["m2"]).command is not None
    assert "already waiting" in (cmds.update_roster(remove=["m3"]).refused or "")


def test_other_server_responses_are_not_ours() -> None:
    cmds, _ = commands()
    assert cmds.on_server_response("tts-toggle", "success", None, {}) is None


@pytest.mark.parametrize(
    ("state", "multi", "outcome", "reconnect"),
    [
        (SessionState.DISCONNECTED, True, RebindOutcome.DEFERRED_UNTIL_STARTUP, False),
        (SessionState.ERROR, False, RebindOutcome.DEFERRED_UNTIL_STARTUP, False),
        (SessionState.CONNECTING, True, RebindOutcome.REJECTED_TRANSITION_STATE, False),
        (SessionState.RECONNECTING, False, RebindOutcome.REJECTED_TRANSITION_STATE, False),
        (SessionState.DISCONNECTING, True, RebindOutcome.REJECTED_TRANSITION_STATE, False),
        (SessionState.CONNECTED, False, RebindOutcome.PENDING_RECONNECT, True),
    ],
)
def test_rebind_outcomes_decided_before_any_message(
    state: SessionState, multi: bool, outcome: RebindOutcome, reconnect: bool
) -> None:
    event = rebind_before_send(state, multi_character_room=multi, requested="bob", active="ada")
    assert event is not None and event.outcome is outcome
    assert event.reconnect_required is reconnect
    assert (event.requested, event.active, event.previous) == ("bob", "ada", "ada")


def test_a_connected_multi_character_room_sends_a_command_instead() -> None:
    assert (
        rebind_before_send(
            SessionState.CONNECTED, multi_character_room=True, requested="bob", active="ada"
        )
        is None
    )


def test_a_bare_error_ack_without_command_id_answers_the_pending_command() -> None:
    cmds, _ = commands()
    cmds.update_roster(remove=["m2"])
    events = cmds.on_server_response("character-roster-update", "error", "bad payload", None)
    [failed] = events or []
    assert isinstance(failed, RosterCommandFailed) and failed.code == "error"
    assert failed.message == "bad payload" and cmds.roster_in_flight is None
    # With nothing pending, a stranger's error changes nothing.
    assert cmds.on_server_response("character-roster-update", "error", "x", None) == []
