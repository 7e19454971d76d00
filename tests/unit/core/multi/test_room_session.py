"""The session's room hooks without a network (issue 12): rebind outcomes before any message,
readiness following the initial membership, attribution of transcripts, input refusal, the
wire form of a target command and its ack."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from convai_tui.core.api.events import EmotionReceived, Event, TranscriptReceived
from convai_tui.core.api.outcomes import Drop, Outcome
from convai_tui.core.api.states import SessionState
from convai_tui.core.connect.room_lease import RoomLease
from convai_tui.core.multi.events import RebindOutcome, RoomRebindStateChanged
from convai_tui.core.multi.room_session import RoomHooks, RoomSession
from convai_tui.core.rtvi import protocol
from convai_tui.core.settings.multi_config import CharacterSpec
from convai_tui.core.settings.room_request import RoomRequest, parse_room_response
from convai_tui.core.settings.session_settings import SessionSettings

ROOM = parse_room_response(
    {
        "room_session_id": "room-1",
        "active_membership_id": "m1",
        "route_epoch": 0,
        "roster_epoch": 0,
        "characters": [
            {
                "membership_id": "m1",
                "character_id": "a",
                "participant_identity": "p1",
                "is_initial": True,
            },
            {"membership_id": "m2", "character_id": "a", "participant_identity": "p2"},
        ],
    }
)


class Channel:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, payload: bytes) -> None:
        self.sent.append(json.loads(payload))


class Host:
    """What the session gives its room: state, settings and a record of every call."""

    def __init__(self, state: SessionState = SessionState.CONNECTED) -> None:
        self.state = state
        self.events: list[Event] = []
        self.outcomes: list[Outcome] = []
        self.ready = 0
        self.channel = Channel()
        self.settings = SessionSettings(connect_url="https://x", api_key="k", character_id="a")
        self.lease = RoomLease("cs-old", None, self.events.append)
        self.room = RoomSession(
            RoomHooks(
                self.events.append,
                lambda: self.state,
                lambda: self.channel,
                self._ready,
                self.outcomes.append,
                lambda: self.settings,
                self._use,
                self.lease,
            )
        )

    def _ready(self) -> None:
        self.ready += 1

    def _use(self, settings: SessionSettings) -> None:
        self.settings = settings

    def rebinds(self) -> list[RoomRebindStateChanged]:
        return [e for e in self.events if isinstance(e, RoomRebindStateChanged)]


def inbound(kind: str, data: dict[str, Any]) -> protocol.InboundMessage:
    return protocol.parse_inbound(
        json.dumps({"label": "rtvi-ai", "type": kind, "data": data}).encode()
    )


async def test_single_character_switch_is_pending_reconnect_keeping_only_settings() -> None:
    host = Host()
    host.room.connected(None)
    assert await host.room.set_target("b") is None
    [rebind] = host.rebinds()
    assert (rebind.outcome, rebind.requested, rebind.active, rebind.reconnect_required) == (
        RebindOutcome.PENDING_RECONNECT,
        "b",
        "a",
        True,
    )
    assert host.settings.character_id == "b" and host.settings.character_session_id is None
    assert host.lease.character_session_id is None
    assert len(host.outcomes) == 1 and isinstance(host.outcomes[0], Drop)
    assert host.outcomes[0].error.code == "session.character_switch"


async def test_before_connecting_deferred_and_while_connecting_rejected() -> None:
    host = Host(SessionState.DISCONNECTED)
    assert await host.room.set_target("b") is None
    assert host.rebinds()[-1].outcome is RebindOutcome.DEFERRED_UNTIL_STARTUP
    assert host.settings.character_id == "b" and not host.outcomes
    host.state = SessionState.CONNECTING
    assert await host.room.set_target("c") is not None
    assert host.rebinds()[-1].outcome is RebindOutcome.REJECTED_TRANSITION_STATE


async def test_readiness_follows_the_initial_membership_and_lines_name_the_speaker() -> None:
    host = Host()
    host.room.connected(ROOM)
    assert host.room.input_refusal() is not None
    about = {"membership_id": "m2", "character_id": "a", "participant_identity": "p2"}
    assert host.room.dispatch(inbound("bot-ready", {"about": about}), "p2")
    assert host.ready == 0  # a secondary instance never makes the session ready
    about = {"membership_id": "m1", "character_id": "a", "participant_identity": "p1"}
    host.room.dispatch(inbound("bot-ready", {"about": about}), "p1")
    assert host.ready == 1 and host.room.input_refusal() is None
    published: list[Event] = []
    stamp = host.room.stamp(published.append)
    assert not host.room.dispatch(inbound("bot-llm-text", {"text": "hi"}), "p2")
    stamp(TranscriptReceived("character", "hi", True))
    stamp(TranscriptReceived("user", "yo", True))
    stamp(EmotionReceived("happy", 2))
    assert [getattr(e, "membership_id", None) for e in published] == ["m2", "m1", "m2"]
    assert published[2].to_json()["membership_id"] == "m2"
    assert "membership_id" not in EmotionReceived("happy", 2).to_json()  # single character
    host.room.dispatch(inbound("bot-llm-text", {"text": "?"}), "stranger")
    stamp(TranscriptReceived("character", "?", True))
    assert getattr(published[-1], "membership_id", "x") is None  # never a guess


async def test_a_target_command_goes_out_with_its_id_and_the_ack_applies_it() -> None:
    host = Host()
    host.room.connected(ROOM)
    assert await host.room.set_target("2") is None
    [sent] = host.channel.sent
    assert (
        sent["type"],
        sent["data"]["target_membership_id"],
        sent["data"]["expected_route_epoch"],
    ) == ("interaction-target", "m2", 0)
    ack = {
        "event_type": "interaction-target",
        "status": "success",
        "extras": {
            "success": True,
            "command_id": sent["id"],
            "active_membership_id": "m2",
            "previous_membership_id": "m1",
            "route_epoch": 1,
            "changed": True,
        },
    }
    assert not host.room.dispatch(inbound("server-response", ack), "p1")
    assert host.room.roster is not None and host.room.roster.active_membership_id == "m2"
    assert host.rebinds()[-1].outcome is RebindOutcome.APPLIED_IMMEDIATELY
    host.room.close()


async def test_a_reconnect_rebuilds_the_roster_from_the_new_answer() -> None:
    host = Host()
    host.room.connected(ROOM)
    assert await host.room.set_target("2") is None  # in flight when the room is lost
    assert host.room.roster is not None
    host.room.roster.route_epoch = 5
    old = host.room.roster
    other = parse_room_response(
        {
            "room_session_id": "room-2",
            "active_membership_id": "n1",
            "route_epoch": 0,
            "roster_epoch": 0,
            "characters": [{"membership_id": "n1", "character_id": "a", "is_initial": True}],
        }
    )
    host.room.connected(other)
    roster = host.room.roster
    assert roster is not None and roster is not old
    assert (roster.room_session_id, roster.route_epoch, roster.active_membership_id) == (
        "room-2",
        0,
        "n1",
    )
    assert host.room.commands is not None and host.room.commands.target_in_flight is None
    host.room.connected(None)  # a single-character room after all: every hook is a no-op
    assert host.room.roster is None and host.room.input_refusal() is None


async def test_display_names_come_from_the_room_request_in_the_settings() -> None:
    host = Host()
    host.settings = dataclasses.replace(
        host.settings, room=RoomRequest(characters=(CharacterSpec("a"),), names={"a": "Ada"})
    )
    host.room.connected(ROOM)
    assert host.room.roster is not None
    assert [m.display_name for m in host.room.roster.members] == ["Ada #1", "Ada #2"]
    host.settings = dataclasses.replace(host.settings, room=None)
    host.room.connected(ROOM)  # no names asked for: a member is shown by its id
    assert host.room.roster is not None
    assert [m.display_name for m in host.room.roster.members] == ["a #1", "a #2"]
