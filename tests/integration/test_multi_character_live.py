"""Multi-character rooms end to end (issue 12): the real session core against the stand-in's
room bots on a real livekit-server. One stand-in serves the whole module; each test sets the
room faults it needs before creating its room (they are read per room)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest
import pytest_asyncio

from convai_tui.core.api import events as ev
from convai_tui.core.api.bus import Subscription
from convai_tui.core.api.states import SessionState
from convai_tui.core.multi.events import (
    CharacterRemoved,
    CharacterStatusChanged,
    InteractionTargetChanged,
    MemberStatus,
    RebindOutcome,
    RoomRebindStateChanged,
    RosterChanged,
    RosterCommandFailed,
)
from convai_tui.core.session import SessionCore
from convai_tui.core.settings.multi_config import CharacterSpec, JoinSettings
from convai_tui.core.settings.retry import RetryPolicy
from convai_tui.core.settings.room_request import RoomRequest
from convai_tui.core.settings.session_settings import SessionSettings
from convai_tui.local.character.client_messages import CharacterProfile
from convai_tui.local.faults import Faults
from convai_tui.local.rooms.policy import RoomPolicy
from convai_tui.local.server import LocalStandIn
from convai_tui.local.sfu.server import LiveKitServer
from tests.integration.standin_client import require_livekit_server

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

ADA, BO, CY, GHOST = "demo-character", "bo", "cy", "ghost"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def standin() -> AsyncIterator[LocalStandIn]:
    require_livekit_server()
    cast = [
        CharacterProfile(BO, "Bo"),
        CharacterProfile(CY, "Cy"),
        CharacterProfile(GHOST, "Ghost"),
    ]
    server = LocalStandIn(
        faults=Faults(tts="none"), livekit=LiveKitServer(), owns_livekit=True, cast=cast
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def cores(standin: LocalStandIn) -> AsyncIterator[list[SessionCore]]:
    made: list[SessionCore] = []
    standin.room_policy = RoomPolicy(ready_delay_s=0.05)
    yield made
    for core in made:
        await core.close()


def make(
    standin: LocalStandIn,
    cores: list[SessionCore],
    *characters: str,
    join: JoinSettings | None = None,
    key: str | None = None,
    end_user: str = "tester-1",
) -> SessionCore:
    room = RoomRequest(
        characters=tuple(CharacterSpec(c) for c in characters), join=join, shared_session_key=key
    )
    settings = SessionSettings(
        connect_url=standin.connect_url,
        api_key=standin.api_key,
        character_id=characters[0] if characters else "",
        end_user_id=end_user,
        room=room if len(characters) != 1 else None,
        retry=RetryPolicy(connect_delays_s=(0.0,), max_reconnect_attempts=1),
    )
    core = SessionCore(settings)
    cores.append(core)
    return core


class Watch:
    """Every event of one core, with bounded waits."""

    def __init__(self, core: SessionCore) -> None:
        self.sub: Subscription = core.subscribe()
        self.seen: list[ev.Event] = []

    async def until(self, predicate: Callable[[ev.Event], bool], wait_s: float = 20.0) -> Any:
        for event in self.seen:
            if predicate(event):
                return event
        async with asyncio.timeout(wait_s):
            async for event in self.sub:
                self.seen.append(event)
                if predicate(event):
                    return event
        raise AssertionError("subscription closed")

    def mark(self) -> int:
        return len(self.seen)

    async def next(
        self, predicate: Callable[[ev.Event], bool], since: int, wait_s: float = 20.0
    ) -> Any:
        for event in self.seen[since:]:
            if predicate(event):
                return event
        async with asyncio.timeout(wait_s):
            async for event in self.sub:
                self.seen.append(event)
                if predicate(event):
                    return event
        raise AssertionError("subscription closed")

    def after(self, since: int, kind: type[ev.Event]) -> list[Any]:
        return [e for e in self.seen[since:] if isinstance(e, kind)]


def of(kind: type[ev.Event]) -> Callable[[ev.Event], bool]:
    return lambda e: isinstance(e, kind)


async def start(core: SessionCore) -> Watch:
    watch = Watch(core)
    await core.start()
    return watch


async def reply_from(core: SessionCore, watch: Watch, text: str) -> set[str | None]:
    """Send `text`; the membership ids the reply's character lines carry."""
    since = watch.mark()
    outcome = await core.send_text(text)
    assert outcome.status == "sent", outcome
    await watch.next(of(ev.TurnCompleted), since)
    lines = [e for e in watch.after(since, ev.TranscriptReceived) if e.role == "character"]
    assert lines and any(text in e.text for e in lines)
    return {e.membership_id for e in lines}


async def switch(core: SessionCore, watch: Watch, spec: str) -> RoomRebindStateChanged:
    since = watch.mark()
    assert await core.room.set_target(spec) is None
    return cast(RoomRebindStateChanged, await watch.next(of(RoomRebindStateChanged), since))


async def test_three_instances_with_a_clone_only_the_target_answers(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    core = make(standin, cores, ADA, BO, ADA)
    watch = await start(core)
    await watch.until(of(ev.BotReady))
    roster = core.room.roster
    assert roster is not None
    members = roster.members
    assert [m.character_id for m in members] == [ADA, BO, ADA]
    assert len({m.membership_id for m in members}) == 3
    assert members[0].display_name != members[2].display_name  # the clone is told apart
    first, second, clone = (m.membership_id for m in members)
    await watch.until(
        lambda e: (
            isinstance(e, RosterChanged) and all(m.status is MemberStatus.READY for m in e.members)
        )
    )
    assert await reply_from(core, watch, "the blue lantern") == {first}
    rebind = await switch(core, watch, "2")
    assert rebind.outcome is RebindOutcome.APPLIED_IMMEDIATELY
    assert (rebind.requested, rebind.previous) == (BO, ADA)
    assert await reply_from(core, watch, "a red kite") == {second}
    rebind = await switch(core, watch, clone)
    assert rebind.outcome is RebindOutcome.APPLIED_IMMEDIATELY
    assert await reply_from(core, watch, "the green door") == {clone}
    users = [e for e in watch.seen if isinstance(e, ev.TranscriptReceived) and e.role == "user"]
    assert [e.membership_id for e in users if e.final] == [first, second, clone]


async def test_a_second_human_joins_by_shared_key_and_both_see_each_other(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    owner = make(standin, cores, ADA, BO, key="campfire")
    owner_watch = await start(owner)
    await owner_watch.until(of(ev.BotReady))
    guest = make(
        standin, cores, join=JoinSettings(shared_session_key="campfire"), end_user="tester-2"
    )
    guest_watch = await start(guest)
    await guest_watch.until(of(ev.BotReady))
    assert guest.room.roster is not None and owner.room.roster is not None
    assert guest.room.roster.room_session_id == owner.room.roster.room_session_id
    guest_id = (
        await guest_watch.until(
            lambda e: isinstance(e, ev.ParticipantJoined) and e.kind == "local_player"
        )
    ).identity
    owner_id = (
        await owner_watch.until(
            lambda e: isinstance(e, ev.ParticipantJoined) and e.kind == "local_player"
        )
    ).identity
    await owner_watch.until(
        lambda e: (
            isinstance(e, ev.ParticipantJoined)
            and e.identity == guest_id
            and e.kind == "remote_player"
        )
    )
    await guest_watch.until(
        lambda e: (
            isinstance(e, ev.ParticipantJoined)
            and e.identity == owner_id
            and e.kind == "remote_player"
        )
    )
    characters = {
        e.identity
        for e in guest_watch.seen
        if isinstance(e, ev.ParticipantJoined) and e.kind == "character"
    }
    assert len(characters) == 2


async def test_add_then_remove_the_target_with_a_replacement_in_the_documented_order(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    core = make(standin, cores, ADA, BO)
    watch = await start(core)
    await watch.until(of(ev.BotReady))
    roster = core.room.roster
    assert roster is not None
    first, second = (m.membership_id for m in roster.members)
    await watch.until(
        lambda e: isinstance(e, RosterChanged) and e.members[1].status is MemberStatus.READY
    )
    assert await core.room.update_roster(add=[CharacterSpec(CY)]) is None
    added = await watch.until(
        lambda e: (
            isinstance(e, RosterChanged)
            and len(e.members) == 3
            and e.members[2].status is MemberStatus.READY
        )
    )
    third = added.members[2].membership_id
    assert added.roster_epoch == 1
    since = watch.mark()
    assert await core.room.update_roster(remove=[first], replacement=second) is None
    await watch.next(
        lambda e: isinstance(e, InteractionTargetChanged) and e.current == second, since
    )
    order = [
        (type(e).__name__, getattr(e, "current", None))
        for e in watch.seen[since:]
        if isinstance(e, InteractionTargetChanged | CharacterRemoved)
    ]
    assert order == [
        ("InteractionTargetChanged", None),
        ("CharacterRemoved", None),
        ("InteractionTargetChanged", second),
    ]
    assert [m.membership_id for m in roster.members] == [second, third]
    assert await reply_from(core, watch, "after the swap") == {second}


async def test_roster_epoch_mismatch_is_shown_with_its_code(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    core = make(standin, cores, ADA, BO)
    watch = await start(core)
    await watch.until(of(ev.BotReady))
    assert core.room.roster is not None
    core.room.roster.roster_epoch = 7  # as if an update from elsewhere had been missed
    assert await core.room.update_roster(add=[CharacterSpec(CY)]) is None
    failed = await watch.until(of(RosterCommandFailed))
    assert failed.code == "roster_epoch_mismatch"


async def test_roster_limit_and_feature_off_refuse_the_connect(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    standin.room_policy = RoomPolicy(roster_limit=2)
    core = make(standin, cores, ADA, BO, CY)
    watch = await start(core)
    error = await watch.until(of(ev.ErrorRaised))
    assert error.error.code == "connection.connect_multi_character_roster_limit"
    await watch.until(of(ev.SessionEnded))
    assert core.state is SessionState.ERROR
    standin.room_policy = RoomPolicy(enabled=False)
    core = make(standin, cores, ADA, BO)
    watch = await start(core)
    error = await watch.until(of(ev.ErrorRaised))
    assert error.error.code == "connection.connect_multi_character_not_allowed"


async def test_partial_dispatch_warns_and_the_room_works(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    standin.room_policy = RoomPolicy(dispatch_fail=frozenset({GHOST}), ready_delay_s=0.05)
    core = make(standin, cores, ADA, GHOST)
    watch = await start(core)
    await watch.until(of(ev.BotReady))
    roster = core.room.roster
    assert roster is not None and roster.partial_dispatch
    ghost = roster.members[1]
    assert (ghost.status, ghost.failure_code) == (MemberStatus.FAILED, "dispatch_failed")
    assert any(
        isinstance(e, ev.LogRecorded) and e.level == "warning" and "dispatch_failed" in e.message
        for e in watch.seen
    )
    assert await core.room.set_target(ghost.membership_id) is not None  # refused
    rebind = await watch.until(of(RoomRebindStateChanged))
    assert rebind.outcome is RebindOutcome.REJECTED_INVALID_OWNERSHIP
    assert await reply_from(core, watch, "still here") == {roster.members[0].membership_id}


async def test_a_failed_initial_character_ends_the_session_with_its_code(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    standin.room_policy = RoomPolicy(dispatch_fail=frozenset({GHOST}))
    core = make(standin, cores, GHOST, ADA)
    watch = await start(core)
    error = await watch.until(of(ev.ErrorRaised))
    assert error.error.code == "session.initial_character_failed"
    assert "dispatch_failed" in error.error.message
    await watch.until(of(ev.SessionEnded))
    assert core.state is SessionState.ERROR
    assert not any(isinstance(e, ev.BotReady) for e in watch.seen)


async def test_an_ack_that_never_comes_times_out(
    standin: LocalStandIn, cores: list[SessionCore], monkeypatch: pytest.MonkeyPatch
) -> None:
    import convai_tui.core.multi.commands as commands

    monkeypatch.setattr(commands, "TARGET_ACK_TIMEOUT_S", 0.5)  # the real 10 s, shortened
    standin.room_policy = RoomPolicy(
        drop_acks=frozenset({"interaction-target"}), ready_delay_s=0.05
    )
    core = make(standin, cores, ADA, BO)
    watch = await start(core)
    await watch.until(of(ev.BotReady))
    assert await core.room.set_target("2") is None
    failed = await watch.until(of(RosterCommandFailed))
    assert (failed.command, failed.code) == ("interaction-target", "ack_timeout")
    assert not any(isinstance(e, RoomRebindStateChanged) for e in watch.seen)


async def test_slow_secondary_does_not_hold_the_session_and_input_waits_for_it(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    standin.room_policy = RoomPolicy(slow_ready={BO: 2.0}, ready_delay_s=0.05)
    core = make(standin, cores, ADA, BO)
    watch = await start(core)
    await watch.until(of(ev.BotReady))
    roster = core.room.roster
    assert roster is not None and roster.members[1].status is MemberStatus.STARTING
    await switch(core, watch, "2")
    refused = await core.send_text("too early")
    assert refused.status == "refused" and "starting" in (refused.reason or "")
    await watch.until(
        lambda e: (
            isinstance(e, CharacterStatusChanged)
            and e.status is MemberStatus.READY
            and e.membership_id == roster.members[1].membership_id
        )
    )
    assert await reply_from(core, watch, "now ready") == {roster.members[1].membership_id}


async def test_the_initial_character_is_ready_only_when_it_can_answer(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    # The client's client-ready reaches the starting bot long before it is ready; a bot-ready
    # sent in answer then would route the first text to a character that refuses it.
    standin.room_policy = RoomPolicy(slow_ready={ADA: 1.0}, ready_delay_s=0.05)
    core = make(standin, cores, ADA, BO)
    watch = await start(core)
    ready = await watch.until(of(ev.BotReady))
    assert ready.since_connect_ms is not None and ready.since_connect_ms >= 900
    roster = core.room.roster
    assert roster is not None
    since = watch.mark()
    assert await reply_from(core, watch, "first words") == {roster.members[0].membership_id}
    assert not [r for r in watch.after(since, ev.ServerResponseReceived) if r.status == "error"]


async def test_stale_acks_never_move_the_target(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    standin.room_policy = RoomPolicy(stale_acks=True, ready_delay_s=0.05)
    core = make(standin, cores, ADA, BO)
    watch = await start(core)
    await watch.until(of(ev.BotReady))
    roster = core.room.roster
    assert roster is not None
    first, second = (m.membership_id for m in roster.members)
    await switch(core, watch, "2")
    await switch(core, watch, "1")  # its ack is followed by the stale ack naming `second`
    since = watch.mark()
    assert await reply_from(core, watch, "who answers") == {first}
    assert roster.active_membership_id == first and roster.route_epoch == 2
    assert not watch.after(since, InteractionTargetChanged)
    assert second


async def test_a_switch_in_a_single_character_room_reconnects(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    core = make(standin, cores, ADA)
    watch = await start(core)
    await watch.until(of(ev.BotReady))
    since = watch.mark()
    assert await core.room.set_target(BO) is None
    rebind = await watch.next(of(RoomRebindStateChanged), since)
    assert rebind.outcome is RebindOutcome.PENDING_RECONNECT and rebind.reconnect_required
    assert (rebind.requested, rebind.active) == (BO, ADA)
    await watch.next(
        lambda e: isinstance(e, ev.SessionStateChanged) and e.new is SessionState.RECONNECTING,
        since,
    )
    await watch.next(of(ev.BotReady), since)
    assert core.settings.character_id == BO and core.state is SessionState.CONNECTED
    requests = standin.stats["connect_requests"]
    assert requests[-1]["character_id"] == BO


async def test_a_switch_before_connecting_is_deferred(
    standin: LocalStandIn, cores: list[SessionCore]
) -> None:
    core = make(standin, cores, ADA)
    watch = Watch(core)
    assert await core.room.set_target(BO) is None
    rebind = await watch.until(of(RoomRebindStateChanged))
    assert rebind.outcome is RebindOutcome.DEFERRED_UNTIL_STARTUP
    await core.start()
    await watch.until(of(ev.BotReady))
    assert standin.stats["connect_requests"][-1]["character_id"] == BO
