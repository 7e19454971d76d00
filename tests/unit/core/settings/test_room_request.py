"""The multi-character /connect request bodies and the room part of the response."""

from typing import Any

import pytest

from convai_tui.core.connect.connect_api import ConnectRequest
from convai_tui.core.errors.error import ConvaiError
from convai_tui.core.settings.multi_config import CharacterSpec, JoinSettings
from convai_tui.core.settings.room_request import (
    MemberInfo,
    create_room_body,
    join_room_body,
    parse_room_response,
)

BASE = ConnectRequest(character_id="a", character_session_id="old", room_name="r").body()
DOC_RESPONSE: dict[str, Any] = {
    "room_url": "wss://example.livekit.cloud",
    "room_name": "convai-room-example",
    "token": "T",
    "room_session_id": "room-1",
    "active_membership_id": "m1",
    "route_epoch": 0,
    "roster_epoch": 0,
    "partial_dispatch": False,
    "characters": [
        {
            "membership_id": "m1",
            "character_id": "a",
            "session_id": "s1",
            "character_session_id": "cs1",
            "participant_identity": "p1",
            "is_initial": True,
            "provisioning_status": "dispatch_accepted",
            "failure_code": None,
        },
        {
            "membership_id": "m2",
            "character_id": "b",
            "session_id": "s2",
            "character_session_id": "cs2",
            "participant_identity": "p2",
            "is_initial": False,
            "provisioning_status": "dispatch_failed",
            "failure_code": "dispatch_failed",
        },
    ],
}


def test_create_body_sends_the_ordered_characters_instead_of_one_id() -> None:
    body = create_room_body(
        BASE,
        [CharacterSpec("a"), CharacterSpec("b", "cs"), CharacterSpec("a")],
        end_user_id="me",
        shared_session_key="k",
        max_num_participants=2,
    )
    assert body["characters"] == [
        {"character_id": "a"},
        {"character_id": "b", "character_session_id": "cs"},
        {"character_id": "a"},
    ]
    assert "character_id" not in body and "character_session_id" not in body
    assert "room_name" not in body
    assert body["end_user_id"] == "me" and body["shared_session_key"] == "k"
    assert body["max_num_participants"] == 2 and body["mode"] == "create"
    assert body["transport"] == "livekit"  # the rest of today's body is kept


def test_create_body_runs_the_client_side_checks_first() -> None:
    with pytest.raises(ConvaiError) as exc:
        create_room_body(BASE, [CharacterSpec("a")] * 51, end_user_id="me")
    assert exc.value.error.code == "config.too_many_characters"
    with pytest.raises(ConvaiError) as exc:
        create_room_body(BASE, [CharacterSpec("a")], end_user_id="")
    assert exc.value.error.code == "config.end_user_id_missing"
    with pytest.raises(ConvaiError) as exc:
        create_room_body(BASE, [CharacterSpec("a")], end_user_id="me", max_num_participants=0)
    assert exc.value.error.code == "config.invalid"


def test_join_body_has_mode_join_one_locator_and_no_characters() -> None:
    body = join_room_body(
        {**BASE, "characters": [{"character_id": "x"}]},
        JoinSettings(room_session_id="room-1"),
        end_user_id="learner-43",
    )
    assert body["mode"] == "join" and body["room_session_id"] == "room-1"
    assert body["end_user_id"] == "learner-43"
    assert "characters" not in body and "character_id" not in body
    assert "shared_session_key" not in body
    by_key = join_room_body(BASE, JoinSettings(shared_session_key="k"), end_user_id="u")
    assert by_key["shared_session_key"] == "k" and "room_session_id" not in by_key
    with pytest.raises(ConvaiError) as exc:
        join_room_body(BASE, JoinSettings("a", "b"), end_user_id="u")
    assert exc.value.error.code == "config.join_locator_invalid"


def test_the_documented_response_parses_into_the_room() -> None:
    room = parse_room_response(DOC_RESPONSE)
    assert room is not None
    assert room.room_session_id == "room-1" and room.active_membership_id == "m1"
    assert (room.route_epoch, room.roster_epoch, room.partial_dispatch) == (0, 0, False)
    assert room.characters[0] == MemberInfo(
        "m1", "a", "s1", "cs1", "p1", True, "dispatch_accepted", None
    )
    assert room.characters[1].failure_code == "dispatch_failed"


def test_a_single_character_response_is_no_room() -> None:
    assert parse_room_response({"room_url": "u", "token": "t", "session_id": "s"}) is None
    assert parse_room_response({**DOC_RESPONSE, "characters": []}) is None
    assert parse_room_response({**DOC_RESPONSE, "room_session_id": None}) is None


@pytest.mark.parametrize(
    "change",
    [
        {"characters": [{"character_id": "a"}]},
        {"characters": ["m1"]},
        {"route_epoch": "one"},
        {"characters": [DOC_RESPONSE["characters"][0]] * 2},
    ],
)
def test_a_malformed_room_is_a_named_connect_error(change: dict[str, Any]) -> None:
    with pytest.raises(ConvaiError) as exc:
        parse_room_response({**DOC_RESPONSE, **change})
    assert exc.value.error.code == "connection.failed"
