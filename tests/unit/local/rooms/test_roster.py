"""The stand-in's server-side room: creation faults, epochs with real checks, rejections, ack
bodies as documented, lifecycle messages, and who answers."""

from collections.abc import Callable
from itertools import count
from typing import Any

import pytest

from convai_tui.local.rooms.directory import RoomDirectory
from convai_tui.local.rooms.policy import RoomPolicy, RoomRefused
from convai_tui.local.rooms.roster import RoomRoster

KNOWN = {"ada", "bob"}
OWNER = "human:owner"


def create(characters: list[str], *, policy: RoomPolicy | None = None, **body: Any) -> RoomRoster:
    ids = count(1)
    return RoomRoster.create(
        {"characters": [{"character_id": c} for c in characters], "end_user_id": "u", **body},
        owner=OWNER,
        known=KNOWN,
        policy=policy or RoomPolicy(),
        new_id=lambda: f"id{next(ids)}",
    )


def extras(out: list[Any]) -> dict[str, Any]:
    return out[0].message["extras"]  # type: ignore[no-any-return]


def test_create_answers_with_the_documented_room_fields() -> None:
    room = create(["ada", "bob", "ada"])
    fields = room.connect_fields()
    assert fields["room_session_id"] == "id1"
    assert (fields["route_epoch"], fields["roster_epoch"], fields["partial_dispatch"]) == (
        0,
        0,
        False,
    )
    entries = fields["characters"]
    assert [e["character_id"] for e in entries] == ["ada", "bob", "ada"]
    assert [e["is_initial"] for e in entries] == [True, False, False]
    assert fields["active_membership_id"] == entries[0]["membership_id"]
    assert len({e["membership_id"] for e in entries}) == 3  # clones are separate instances
    assert len({e["participant_identity"] for e in entries}) == 3
    assert set(entries[0]) == {
        "membership_id",
        "character_id",
        "session_id",
        "character_session_id",
        "participant_identity",
        "is_initial",
        "provisioning_status",
        "failure_code",
    }


@pytest.mark.parametrize(
    ("policy", "characters", "status", "marker"),
    [
        (RoomPolicy(enabled=False), ["ada", "bob"], 403, "multi_character_v0_disabled"),
        (
            RoomPolicy(roster_limit=2),
            ["ada", "bob", "ada"],
            403,
            "multi_character_roster_limit_exceeded",
        ),
        (RoomPolicy(), ["ada", "zed"], 404, "Character not found"),
    ],
)
def test_create_faults(policy: RoomPolicy, characters: list[str], status: int, marker: str) -> None:
    with pytest.raises(RoomRefused) as exc:
        create(characters, policy=policy)
    assert exc.value.status == status and marker in str(exc.value.detail)


def test_create_validation() -> None:
    with pytest.raises(RoomRefused) as exc:
        RoomRoster.create(
            {"characters": [], "end_user_id": "u"}, owner=OWNER, known=KNOWN, policy=RoomPolicy()
        )
    assert exc.value.status == 422
    with pytest.raises(RoomRefused) as exc:
        RoomRoster.create(
            {"characters": [{"character_id": "ada"}]}, owner=OWNER, known=KNOWN, policy=RoomPolicy()
        )
    assert exc.value.status == 422 and "end_user_id" in str(exc.value.detail)
    with pytest.raises(RoomRefused) as exc:
        RoomRoster.create(
            {
                "characters": [
                    {"character_id": "ada", "character_session_id": "x"},
                    {"character_id": "bob", "character_session_id": "x"},
                ],
                "end_user_id": "u",
            },
            owner=OWNER,
            known=KNOWN,
            policy=RoomPolicy(),
        )
    assert exc.value.status == 400


def test_dispatch_failure_is_partial_and_that_instance_is_failed() -> None:
    room = create(["ada", "bob"], policy=RoomPolicy(dispatch_fail=frozenset({"bob"})))
    fields = room.connect_fields()
    assert fields["partial_dispatch"] is True
    assert fields["characters"][1]["provisioning_status"] == "dispatch_failed"
    assert fields["characters"][1]["failure_code"] == "dispatch_failed"
    assert room.mark_ready(fields["characters"][1]["membership_id"]) == []


def test_ready_sends_status_then_bot_ready_with_about_and_only_the_ready_target_answers() -> None:
    room = create(["ada", "bob"])
    first, second = list(room.instances)
    assert room.responder() is None  # the target is still starting
    out = room.mark_ready(first)
    assert [o.message["type"] for o in out] == ["character-status", "bot-ready"]
    assert out[0].message["data"]["status"] == "ready" and out[0].sender == first
    assert out[1].message["data"]["about"] == {
        "room_session_id": room.room_session_id,
        "membership_id": first,
        "character_id": "ada",
        "character_session_id": room.instances[first].character_session_id,
        "participant_identity": room.instances[first].participant_identity,
        "is_initial": True,
        "roster_epoch": 0,
    }
    assert room.responder() is room.instances[first]
    room.mark_ready(second)
    room.handle_interaction_target(
        OWNER,
        "t1",
        {
            "room_session_id": room.room_session_id,
            "target_membership_id": second,
            "expected_route_epoch": 0,
        },
    )
    assert room.responder() is room.instances[second]


def test_interaction_target_ack_is_exactly_the_documented_body() -> None:
    room = create(["ada", "bob"])
    first, second = list(room.instances)
    out = room.handle_interaction_target(
        OWNER,
        "select-1",
        {
            "room_session_id": room.room_session_id,
            "target_membership_id": second,
            "expected_route_epoch": 0,
        },
    )
    assert len(out) == 1 and out[0].to == OWNER
    assert out[0].message == {
        "type": "server-response",
        "event_type": "interaction-target",
        "status": "success",
        "extras": {
            "success": True,
            "command_id": "select-1",
            "room_session_id": room.room_session_id,
            "previous_membership_id": first,
            "active_membership_id": second,
            "route_epoch": 1,
            "changed": True,
        },
    }


def test_targeting_the_current_target_is_unchanged_and_keeps_the_epoch() -> None:
    room = create(["ada", "bob"])
    first = next(iter(room.instances))
    out = room.handle_interaction_target(
        OWNER,
        "t",
        {
            "room_session_id": room.room_session_id,
            "target_membership_id": first,
            "expected_route_epoch": 0,
        },
    )
    assert extras(out)["changed"] is False and extras(out)["route_epoch"] == 0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"target_membership_id": None, "expected_route_epoch": 3}, "route_epoch_mismatch"),
        ({"target_membership_id": "nope", "expected_route_epoch": 0}, "membership_not_found"),
        (
            {"target_membership_id": None, "expected_route_epoch": 0, "room_session_id": "x"},
            "room_session_mismatch",
        ),
    ],
)
def test_interaction_target_rejections(data: dict[str, Any], code: str) -> None:
    room = create(["ada", "bob"])
    out = room.handle_interaction_target(
        OWNER, "t", {"room_session_id": room.room_session_id, **data}
    )
    assert out[0].message["status"] == "error"
    assert extras(out)["code"] == code and extras(out)["success"] is False
    assert room.route_epoch == 0


def test_a_stranger_is_an_unauthorized_sender_and_a_joined_human_may_switch_not_recast() -> None:
    room = create(["ada", "bob"])
    data = {
        "room_session_id": room.room_session_id,
        "target_membership_id": None,
        "expected_route_epoch": 0,
    }
    assert extras(room.handle_interaction_target("human:x", "t", data))["code"] == (
        "unauthorized_sender"
    )
    room.join("human:second")
    assert extras(room.handle_interaction_target("human:second", "t2", data))["success"]
    update = {
        "room_session_id": room.room_session_id,
        "expected_roster_epoch": 0,
        "add": [{"character_id": "ada"}],
        "remove_membership_ids": [],
    }
    out = room.handle_roster_update("human:second", "r", update, KNOWN)
    assert extras(out)["code"] == "unauthorized_sender"


def test_resending_the_same_command_replays_its_answer_without_a_second_change() -> None:
    room = create(["ada", "bob"])
    second = list(room.instances)[1]
    data = {
        "room_session_id": room.room_session_id,
        "target_membership_id": second,
        "expected_route_epoch": 0,
    }
    first_answer = room.handle_interaction_target(OWNER, "t", data)
    again = room.handle_interaction_target(OWNER, "t", data)
    assert again[0].message == first_answer[0].message and room.route_epoch == 1
    other = room.handle_interaction_target(OWNER, "t", {**data, "target_membership_id": None})
    assert extras(other)["code"] == "duplicate_command_id"


def test_roster_update_add_and_remove_target_with_replacement() -> None:
    room = create(["ada", "bob"])
    first, second = list(room.instances)
    room.mark_ready(second)
    out = room.handle_roster_update(
        OWNER,
        "r1",
        {
            "room_session_id": room.room_session_id,
            "expected_roster_epoch": 0,
            "add": [{"character_id": "ada"}],
            "remove_membership_ids": [first],
            "replacement_target_membership_id": second,
        },
        KNOWN,
    )
    ack = extras(out)
    assert set(ack) == {
        "success",
        "command_id",
        "room_session_id",
        "added",
        "removed_membership_ids",
        "active_membership_id",
        "route_epoch",
        "roster_epoch",
    }
    assert ack["removed_membership_ids"] == [first] and ack["active_membership_id"] == second
    assert (ack["route_epoch"], ack["roster_epoch"]) == (1, 1)
    [added] = ack["added"]
    assert added["character_id"] == "ada" and added["is_initial"] is False
    kinds = [o.message["type"] for o in out]
    assert kinds == ["server-response", "character-removed", "character-status"]
    assert out[1].message["data"] == {
        "room_session_id": room.room_session_id,
        "membership_id": first,
        "roster_epoch": 1,
    }
    assert out[2].message["data"]["status"] == "starting"


def test_removing_the_target_without_replacement_clears_it_and_keeps_the_route_epoch() -> None:
    room = create(["ada", "bob"])
    first = next(iter(room.instances))
    out = room.handle_roster_update(
        OWNER,
        "r",
        {
            "room_session_id": room.room_session_id,
            "expected_roster_epoch": 0,
            "remove_membership_ids": [first],
        },
        KNOWN,
    )
    assert extras(out)["active_membership_id"] is None and room.route_epoch == 0
    assert room.responder() is None


Update = Callable[[str, str], dict[str, Any]]


@pytest.mark.parametrize(
    ("update", "code"),
    [
        (
            lambda a, b: {"expected_roster_epoch": 1, "add": [{"character_id": "ada"}]},
            "roster_epoch_mismatch",
        ),
        (lambda a, b: {"remove_membership_ids": [a, b]}, "roster_empty"),
        (lambda a, b: {"add": [{"character_id": "zed"}]}, "character_not_found"),
        (lambda a, b: {"remove_membership_ids": ["nope"]}, "membership_not_found"),
        (
            lambda a, b: {"add": [{"character_id": "ada"}] * 2},
            "multi_character_roster_limit_exceeded",
        ),
        (
            lambda a, b: {"remove_membership_ids": [a], "replacement_target_membership_id": a},
            "invalid_replacement_target",
        ),
        (
            lambda a, b: {"remove_membership_ids": [a], "replacement_target_membership_id": b},
            "replacement_not_ready",
        ),
    ],
)
def test_roster_update_rejections(update: Update, code: str) -> None:
    room = create(["ada", "bob"], policy=RoomPolicy(roster_limit=3))
    first, second = list(room.instances)
    data = {
        "room_session_id": room.room_session_id,
        "expected_roster_epoch": 0,
        **update(first, second),
    }
    out = room.handle_roster_update(OWNER, "r", data, KNOWN)
    assert out[0].message["status"] == "error" and extras(out)["code"] == code
    assert room.roster_epoch == 0 and len(room.instances) == 2


def test_join_by_room_session_id_or_shared_key() -> None:
    directory = RoomDirectory()
    room = create(["ada"], shared_session_key="key-1", max_num_participants=2)
    directory.add(room)
    assert (
        directory.join(
            {"mode": "join", "shared_session_key": "key-1", "end_user_id": "u2"}, "human:two"
        )
        is room
    )
    assert room.humans == [OWNER, "human:two"]
    with pytest.raises(RoomRefused) as exc:
        directory.join(
            {"room_session_id": room.room_session_id, "end_user_id": "u3"}, "human:three"
        )
    assert exc.value.status == 403  # max_num_participants
    for body, status in (
        ({"end_user_id": "u"}, 422),
        ({"room_session_id": "r", "shared_session_key": "k", "end_user_id": "u"}, 422),
        ({"room_session_id": "nope", "end_user_id": "u"}, 404),
        ({"shared_session_key": "key-1"}, 422),
    ):
        with pytest.raises(RoomRefused) as exc:
            directory.join(body, "human:x")
        assert exc.value.status == status
    with pytest.raises(RoomRefused) as exc:
        directory.add(create(["ada"], shared_session_key="key-1"))
    assert exc.value.status == 409


def _target(room: RoomRoster, command_id: str, target: str | None) -> list[Any]:
    return room.handle_interaction_target(
        OWNER,
        command_id,
        {
            "room_session_id": room.room_session_id,
            "target_membership_id": target,
            "expected_route_epoch": room.route_epoch,
        },
    )


def test_fault_an_ack_that_never_comes_still_applies_the_change() -> None:
    room = create(["ada", "bob"], policy=RoomPolicy(drop_acks=frozenset({"interaction-target"})))
    second = list(room.instances)[1]
    assert _target(room, "t", second) == []
    assert room.active_membership_id == second and room.route_epoch == 1


def test_fault_a_stale_epoch_ack_follows_each_fresh_one() -> None:
    room = create(["ada", "bob"], policy=RoomPolicy(stale_acks=True))
    first, second = list(room.instances)
    [fresh] = _target(room, "t1", second)
    fresh2, stale = _target(room, "t2", first)
    assert extras([fresh2])["route_epoch"] == 2
    assert stale.message == fresh.message and extras([stale])["route_epoch"] == 1


def test_fault_slow_readiness_for_one_character() -> None:
    policy = RoomPolicy(slow_ready={"bob": 8.0})
    assert policy.ready_delay("bob") == 8.0 and policy.ready_delay("ada") == 0.2
