"""The client's roster projection: readiness, resolution, clones, epochs, lifecycle messages."""

import pytest

from convai_tui.core.api.events import ErrorRaised, LogRecorded
from convai_tui.core.multi.events import (
    CharacterAdded,
    CharacterRemoved,
    CharacterStatusChanged,
    InteractionTargetChanged,
    MemberStatus,
    RebindOutcome,
    RoomRebindStateChanged,
    RosterChanged,
)
from convai_tui.core.multi.roster import MEDIA_READY_GRACE_S, Roster
from convai_tui.core.settings.room_request import RoomConnectInfo
from tests.unit.rooms import member, ready_all, three_room, types


def test_built_from_the_connect_answer_with_the_initial_target() -> None:
    roster = three_room()
    assert [m.membership_id for m in roster.members] == ["m1", "m2", "m3"]
    assert roster.active_membership_id == "m1" and roster.initial.membership_id == "m1"
    assert all(m.status is MemberStatus.STARTING for m in roster.members)
    assert not roster.is_ready
    [snapshot] = roster.initial_events()
    assert isinstance(snapshot, RosterChanged) and not snapshot.ready


def test_clones_are_distinct_and_their_names_tell_them_apart() -> None:
    roster = three_room()
    names = [m.display_name for m in roster.members]
    assert names == ["Ada #1", "Bob", "Ada #2"]
    assert roster.resolve("m3").participant_identity == "p-m3"  # type: ignore[union-attr]
    assert roster.resolve(None, "p-m1").membership_id == "m1"  # type: ignore[union-attr]
    # Removing one clone leaves the other's name unambiguous, and numbers are never reused.
    roster.remove("m1")
    assert [m.display_name for m in roster.members] == ["Bob", "Ada #2"]
    roster.insert(member("m4", "ada"))
    assert roster.get("m4").display_name == "Ada #3"  # type: ignore[union-attr]


def test_resolution_is_by_membership_then_identity_never_character_id() -> None:
    roster = three_room()
    assert roster.resolve("m2", "p-m3").membership_id == "m2"  # type: ignore[union-attr]
    assert roster.resolve("gone", "p-m3").membership_id == "m3"  # type: ignore[union-attr]
    assert roster.resolve("ada") is None  # a character id addresses nobody
    assert roster.resolve(None, "ada") is None
    assert roster.resolve("nope", "nobody") is None
    assert roster.resolve() is None


def test_session_readiness_follows_the_initial_membership_only() -> None:
    roster = three_room()
    events = roster.on_character_status({"membership_id": "m2", "status": "ready"})
    assert types(events) == ["character_status", "roster"] and not roster.is_ready
    events = roster.on_bot_ready({"about": {"membership_id": "m1", "roster_epoch": 0}})
    assert isinstance(events[0], CharacterStatusChanged) and events[0].status is MemberStatus.READY
    assert roster.is_ready and events[-1].ready  # type: ignore[attr-defined]
    # A repeated ready signal changes nothing.
    assert roster.on_bot_ready({"about": {"membership_id": "m1"}}) == []


def test_failed_secondary_is_a_warning_and_the_room_still_works() -> None:
    roster = three_room(failed="m2")
    events = roster.initial_events()
    assert types(events) == ["roster", "log"]
    warning = events[1]
    assert isinstance(warning, LogRecorded) and warning.level == "warning"
    assert "dispatch_failed" in warning.message
    assert roster.get("m2").status is MemberStatus.FAILED  # type: ignore[union-attr]
    roster.on_bot_ready({"about": {"membership_id": "m1"}})
    assert roster.is_ready


def test_failed_initial_is_an_error_naming_its_failure_code() -> None:
    roster = three_room(failed="m1")
    [_, error] = roster.initial_events()
    assert isinstance(error, ErrorRaised)
    assert error.error.code == "session.initial_character_failed"
    assert "Initial character failed to start (dispatch_failed)" in error.error.message
    assert roster.initial_failed and not roster.is_ready
    # Failed is final: a later ready does not revive it.
    assert roster.on_character_status({"membership_id": "m1", "status": "ready"}) == []


def test_a_later_failure_without_code_says_unknown() -> None:
    roster = three_room()
    events = roster.on_character_status({"membership_id": "m1", "status": "failed"})
    assert isinstance(events[1], ErrorRaised)
    assert "(unknown)" in events[1].error.message


def test_input_is_refused_with_the_reason_until_the_target_is_ready() -> None:
    roster = three_room(failed="m3")
    assert "Ada #1 is still starting" in (roster.input_refusal() or "")
    roster.on_bot_ready({"about": {"membership_id": "m1"}})
    assert roster.input_refusal() is None
    roster.apply_route(None, 1)
    assert "No interaction target" in (roster.input_refusal() or "")
    roster.apply_route("m3", 2)
    assert "failed to start (dispatch_failed)" in (roster.input_refusal() or "")
    roster.apply_route("m9", 3)
    assert "not in this room" in (roster.input_refusal() or "")


def test_route_epoch_applies_only_when_strictly_greater() -> None:
    roster = three_room()
    [change] = roster.apply_route("m2", 1)
    assert change == InteractionTargetChanged(
        previous="m1", current="m2", route_epoch=1, at=change.at
    )
    assert roster.apply_route("m3", 1) == [] and roster.active_membership_id == "m2"
    assert roster.apply_route("m3", 0) == [] and roster.active_membership_id == "m2"
    assert roster.apply_route("m2", 2) == [] and roster.route_epoch == 2  # epoch, no move
    assert roster.apply_route("m3", "bad") == [] and roster.route_epoch == 2


def test_roster_epoch_merges_by_taking_the_higher_value() -> None:
    roster = three_room()
    assert roster.merge_roster_epoch(3) and roster.roster_epoch == 3
    assert not roster.merge_roster_epoch(2) and roster.roster_epoch == 3
    assert not roster.merge_roster_epoch(None) and roster.roster_epoch == 3


def test_character_status_for_an_unknown_membership_inserts_it_first() -> None:
    roster = three_room()
    data = {
        "membership_id": "m4",
        "character_id": "bob",
        "participant_identity": "p-m4",
        "status": "starting",
        "roster_epoch": 1,
    }
    events = roster.on_character_status(data)
    assert types(events) == ["character_added", "character_status", "roster"]
    assert isinstance(events[0], CharacterAdded) and events[0].member.display_name == "Bob #2"
    assert roster.roster_epoch == 1
    # The ack that follows for the same membership does not add it twice.
    ack = roster.apply_roster_ack(
        {
            "added": [{"membership_id": "m4", "character_id": "bob"}],
            "roster_epoch": 1,
            "route_epoch": 0,
        }
    )
    assert "character_added" not in types(ack)
    assert [m.membership_id for m in roster.members].count("m4") == 1


def test_a_later_announcement_fills_in_the_media_identity() -> None:
    roster = three_room()
    roster.on_character_status({"membership_id": "m4", "character_id": "bob", "status": "starting"})
    assert roster.get("m4").participant_identity is None  # type: ignore[union-attr]
    roster.apply_roster_ack(
        {
            "added": [{"membership_id": "m4", "character_id": "bob", "participant_identity": "p4"}],
            "roster_epoch": 1,
        }
    )
    assert roster.resolve(None, "p4").membership_id == "m4"  # type: ignore[union-attr]


def test_removing_the_target_clears_it_first_then_removes() -> None:
    roster = three_room()
    events = roster.on_character_removed({"membership_id": "m1", "roster_epoch": 1})
    assert types(events) == ["interaction_target_changed", "character_removed", "roster"]
    assert events[0] == InteractionTargetChanged(
        previous="m1", current=None, route_epoch=0, at=events[0].at
    )
    assert isinstance(events[1], CharacterRemoved) and events[1].member.membership_id == "m1"
    assert roster.route_epoch == 0  # clearing by removal does not advance it
    # A removed membership never comes back from a late message.
    assert (
        roster.on_character_status(
            {"membership_id": "m1", "character_id": "ada", "status": "ready"}
        )
        == []
    )
    assert roster.get("m1") is None


def test_the_roster_never_becomes_empty() -> None:
    roster = three_room()
    roster.remove("m1")
    roster.remove("m2")
    assert roster.remove("m3") == [] and len(roster.members) == 1
    # The removal overtook the member that replaces it: applied once that one is known.
    events = roster.insert(member("m4", "bob"))
    assert types(events) == ["character_added", "character_status", "character_removed"]
    assert [m.membership_id for m in roster.members] == ["m4"]
    assert roster.on_character_status({"membership_id": "m3", "character_id": "ada"}) == []


def test_unknown_lifecycle_messages_are_not_attributed() -> None:
    roster = three_room()
    assert roster.on_character_status({"membership_id": "zz", "status": "ready"}) == []
    assert roster.on_character_removed({"membership_id": "zz"}) == []
    assert roster.on_bot_ready({"about": {"library": "x"}}) == []
    assert roster.note_speech("zz", "nobody") == []
    # The sender's identity still resolves when the message names no membership.
    events = roster.on_character_status({"status": "ready"}, sender="p-m2")
    assert events and roster.get("m2").status is MemberStatus.READY  # type: ignore[union-attr]


def test_speech_proves_ready_but_media_only_arms_a_wait() -> None:
    roster = three_room()
    assert types(roster.note_speech(participant_identity="p-m2"))[0] == "character_status"
    roster.note_media("p-m3", now=10.0)
    assert roster.next_media_deadline() == 10.0 + MEDIA_READY_GRACE_S
    assert roster.expire_media_waits(10.0 + MEDIA_READY_GRACE_S - 0.1) == []
    events = roster.expire_media_waits(10.0 + MEDIA_READY_GRACE_S)
    assert roster.get("m3").status is MemberStatus.READY and events  # type: ignore[union-attr]
    # A real status message before the wait ends cancels the wait.
    roster.note_media("p-m1", now=20.0)
    roster.on_character_status({"membership_id": "m1", "status": "ready"})
    assert roster.next_media_deadline() is None


def test_roster_ack_orders_target_cleared_removed_then_replacement() -> None:
    roster = three_room()
    ready_all(roster)
    events = roster.apply_roster_ack(
        {
            "added": [{"membership_id": "m4", "character_id": "bob"}],
            "removed_membership_ids": ["m1"],
            "active_membership_id": "m2",
            "route_epoch": 1,
            "roster_epoch": 1,
        }
    )
    assert types(events) == [
        "character_added",
        "character_status",
        "interaction_target_changed",
        "character_removed",
        "interaction_target_changed",
        "roster",
    ]
    assert (events[2].previous, events[2].current) == ("m1", None)  # type: ignore[attr-defined]
    assert (events[4].previous, events[4].current) == (None, "m2")  # type: ignore[attr-defined]
    assert (roster.route_epoch, roster.roster_epoch) == (1, 1)


def test_a_roster_ack_older_than_the_roster_changes_no_membership() -> None:
    roster = three_room()
    roster.merge_roster_epoch(5)
    roster.apply_roster_ack(
        {
            "added": [{"membership_id": "m9", "character_id": "bob"}],
            "removed_membership_ids": ["m2"],
            "roster_epoch": 4,
        }
    )
    assert [m.membership_id for m in roster.members] == ["m1", "m2", "m3"]


def test_json_lines_have_the_documented_shapes() -> None:
    roster = three_room()
    status = CharacterStatusChanged(
        membership_id="m2", status=MemberStatus.FAILED, failure_code="dispatch_failed", at=1.0
    )
    assert status.to_json() == {
        "type": "character_status",
        "ts": 1.0,
        "membership_id": "m2",
        "status": "failed",
        "failure_code": "dispatch_failed",
    }
    target = InteractionTargetChanged(previous="m1", current=None, route_epoch=0, at=1.0)
    assert target.to_json() == {
        "type": "interaction_target_changed",
        "ts": 1.0,
        "previous": "m1",
        "current": None,
        "route_epoch": 0,
    }
    rebind = RoomRebindStateChanged(
        outcome=RebindOutcome.PENDING_RECONNECT,
        requested="bob",
        active="ada",
        reconnect_required=True,
        at=1.0,
    )
    line = rebind.to_json()
    assert {
        k: line[k] for k in ("type", "outcome", "requested", "active", "reconnect_required")
    } == {
        "type": "rebind",
        "outcome": "PendingReconnect",
        "requested": "bob",
        "active": "ada",
        "reconnect_required": True,
    }
    full = roster.snapshot().to_json()
    assert full["type"] == "roster" and full["room_session_id"] == "room-1"
    assert [m["name"] for m in full["members"]] == ["Ada #1", "Bob", "Ada #2"]
    assert [m["target"] for m in full["members"]] == [True, False, False]
    assert full["members"][1]["status"] == "starting"


@pytest.mark.parametrize("active", [None, "missing"])
def test_without_a_usable_active_membership_the_initial_one_is_the_target(
    active: str | None,
) -> None:
    info = RoomConnectInfo(
        "r", active, 0, 0, False, (member("a", "ada"), member("b", "bob", initial=True))
    )
    roster = Roster(info)
    assert roster.active_membership_id == "b"
    assert roster.get("a").display_name == "ada"  # type: ignore[union-attr]


def test_inbound_messages_are_attributed_by_membership_then_sender() -> None:
    roster = three_room()
    assert roster.attribute({"membership_id": "m3", "text": "hi"}, "p-m1").membership_id == "m3"  # type: ignore[union-attr]
    assert roster.attribute({"about": {"membership_id": "m2"}}, None).membership_id == "m2"  # type: ignore[union-attr]
    assert roster.attribute({"text": "hi"}, "p-m3").membership_id == "m3"  # type: ignore[union-attr]
    assert roster.attribute({"character_id": "ada", "text": "hi"}, None) is None
    assert roster.attribute({"text": "hi"}, "human:someone") is None


def test_the_transport_participant_id_bound_by_media_is_the_last_resort() -> None:
    roster = three_room()
    assert roster.resolve(None, None, "PA_3") is None
    roster.note_media("p-m3", now=0.0, participant_sid="PA_3")
    assert roster.resolve(None, "unknown", "PA_3").membership_id == "m3"  # type: ignore[union-attr]
    assert roster.attribute({"text": "hi"}, None, "PA_3").membership_id == "m3"  # type: ignore[union-attr]
    assert roster.resolve("m1", "p-m2", "PA_3").membership_id == "m1"  # type: ignore[union-attr]
    roster.remove("m3")
    assert roster.resolve(None, None, "PA_3") is None


def test_participant_kinds_and_target_lookup_by_id_or_position() -> None:
    roster = three_room()
    assert roster.participant_kind("human:me", "human:me") == "local_player"
    assert roster.participant_kind("p-m3", "human:me") == "character"
    assert roster.participant_kind("human:other", "human:me") == "remote_player"
    assert roster.participant_kind("bot-not-yet-listed", "human:me") == "character"
    assert roster.find("m2").membership_id == "m2"  # type: ignore[union-attr]
    assert roster.find("3").membership_id == "m3"  # type: ignore[union-attr]
    assert roster.find("0") is None and roster.find("4") is None and roster.find("ada") is None
