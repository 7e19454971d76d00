"""Room events read back from their JSON lines (session-log replay) equal the originals."""

import json

import pytest

from convai_tui.core.api.events import Event
from convai_tui.core.multi.events import (
    CharacterAdded,
    CharacterRemoved,
    CharacterStatusChanged,
    InteractionTargetChanged,
    MemberStatus,
    RebindOutcome,
    RoomRebindStateChanged,
    RosterCommandFailed,
    roster_event_from_json,
)
from tests.unit.rooms import three_room

ROSTER = three_room(failed="m2")
MEMBER = ROSTER.members[1]
EVENTS: list[Event] = [
    ROSTER.snapshot(),
    CharacterStatusChanged(
        membership_id="m2", status=MemberStatus.FAILED, failure_code="dispatch_failed", at=5.0
    ),
    CharacterAdded(member=MEMBER, at=5.0),
    CharacterRemoved(member=MEMBER, at=5.0),
    InteractionTargetChanged(previous="m1", current=None, route_epoch=3, at=5.0),
    RoomRebindStateChanged(
        outcome=RebindOutcome.APPLIED_IMMEDIATELY,
        requested="ada",
        active="ada",
        previous="bob",
        requested_membership_id="m3",
        active_membership_id="m3",
        at=5.0,
    ),
    RosterCommandFailed(
        command="character-roster-update",
        command_id="c1",
        code="roster_epoch_mismatch",
        message="moved",
        at=5.0,
    ),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.TYPE)
def test_room_events_round_trip_through_their_json_line(event: Event) -> None:
    line = json.loads(json.dumps(event.to_json()))
    back = roster_event_from_json(line)
    assert back is not None
    assert back.to_json() == event.to_json()
    assert back == event or event.TYPE == "roster"  # `at` is rounded to microseconds


def test_other_types_are_not_room_events_and_malformed_ones_say_so() -> None:
    assert roster_event_from_json({"type": "transcript", "ts": 1}) is None
    with pytest.raises(ValueError, match="malformed character_status"):
        roster_event_from_json(
            {"type": "character_status", "ts": 1, "membership_id": "m", "status": "sleeping"}
        )
