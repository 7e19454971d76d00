"""The monitor in a multi-character room (issue 12), with a scripted core: the room table,
number keys switching the target (the next reply then comes from that character), the status
bar and the transcript naming the instance, and a snapshot of a three-instance room with one
clone and one failed instance."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from convai_tui.core.api.events import (
    Event,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLevels,
    TranscriptReceived,
)
from convai_tui.core.api.events import TurnCompleted as Done
from convai_tui.core.multi.events import (
    InteractionTargetChanged,
    Membership,
    MemberStatus,
    RebindOutcome,
    RoomRebindStateChanged,
    RosterChanged,
)
from convai_tui.core.settings.multi_config import CharacterSpec
from convai_tui.ui.app import ConvaiApp
from convai_tui.ui.screens.monitor import MonitorScreen
from convai_tui.ui.screens.room_actions import NO_ROOM_REASON, RoomCommands
from convai_tui.ui.screens.room_prompt import RoomPrompt
from convai_tui.ui.widgets.room import COLUMNS, RoomTable
from tests.ui.fake_core import FakeClock, FakeSession, Step
from tests.ui.scenarios import connect_events, settle, t

ADA = Membership(
    "m-ada-1",
    "ada",
    "Ada",
    participant_identity="character-ada-1",
    is_initial=True,
    status=MemberStatus.READY,
)
BO = Membership(
    "m-bo-2",
    "bo",
    "Bo",
    participant_identity="character-bo-2",
    provisioning_status="dispatch_failed",
    status=MemberStatus.FAILED,
    failure_code="dispatch_failed",
)
ADA2 = Membership(
    "m-ada-3", "ada", "Ada #2", participant_identity="character-ada-3", status=MemberStatus.READY
)
CY = Membership(
    "m-cy-2", "cy", "Cy", participant_identity="character-cy-2", status=MemberStatus.READY
)


@dataclass
class FakeRoom:
    """The part of SessionCore.room the monitor uses; answers like the real room would."""

    session: FakeSession
    members: tuple[Membership, ...]
    target: str | None
    epoch: int = 0
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def snapshot(self, at: float) -> RosterChanged:
        return RosterChanged(
            room_session_id="room-1",
            active_membership_id=self.target,
            route_epoch=self.epoch,
            roster_epoch=0,
            partial_dispatch=False,
            ready=True,
            members=self.members,
            at=at,
        )

    async def set_target(self, spec: str | None) -> str | None:
        self.calls.append(("set_target", spec))
        member = next((m for m in self.members if m.membership_id == spec), None)
        if member is not None and member.status is MemberStatus.FAILED:
            return f"{member.display_name} failed to start (dispatch_failed)."
        previous, self.target = self.target, spec
        self.epoch += 1
        at = t(50 + self.epoch)
        self.session.publish(
            InteractionTargetChanged(
                previous=previous, current=spec, route_epoch=self.epoch, at=at
            ),
            self.snapshot(at),
            RoomRebindStateChanged(
                outcome=RebindOutcome.APPLIED_IMMEDIATELY,
                requested=member.character_id if member else None,
                active=member.character_id if member else None,
                at=at,
            ),
        )
        return None

    async def update_roster(
        self,
        add: Sequence[CharacterSpec] = (),
        remove: Sequence[str] = (),
        replacement: str | None = None,
    ) -> str | None:
        self.calls.append(("update_roster", (tuple(add), tuple(remove), replacement)))
        return None

    def set_local_mute(self, identity: str, muted: bool) -> None:
        self.calls.append(("set_local_mute", (identity, muted)))

    def last_call(self) -> tuple[str, Any]:
        """The latest call; a method, so the type checker does not carry one assertion's
        narrowing of ``calls[-1]`` over to the next (the awaits in between add calls)."""
        return self.calls[-1]


def room_events(members: tuple[Membership, ...]) -> list[Event]:
    events: list[Event] = [*connect_events()]
    events.append(
        RosterChanged(
            room_session_id="room-1",
            active_membership_id=ADA.membership_id,
            route_epoch=0,
            roster_epoch=0,
            partial_dispatch=True,
            ready=True,
            members=members,
            at=t(1.0),
        )
    )
    for member in members:
        if member.status is MemberStatus.READY and member.participant_identity:
            info = ParticipantInfo(
                member.participant_identity,
                member.display_name,
                "character",
                sid=f"PA_{member.membership_id}",
                tracks=("audio",),
                speaking=member is ADA2,
            )
            events.append(ParticipantJoined(info.identity, info.name, "character", info, at=t(1.1)))
    guest = ParticipantInfo("human:guest", "Guest", "remote_player", sid="PA_guest")
    events.append(ParticipantJoined(guest.identity, guest.name, "remote_player", guest, at=t(2.0)))
    return events


def build(
    members: tuple[Membership, ...], clock_at: float = 40.0
) -> tuple[ConvaiApp, FakeSession, FakeRoom]:
    clock = FakeClock(t(clock_at))
    holder: dict[str, FakeRoom] = {}

    def replies(text: str) -> Iterable[Event]:
        target = holder["room"].target
        name = next(m.display_name for m in members if m.membership_id == target)
        reply = f"{name} heard: {text}"
        return [
            TranscriptReceived("character", reply, True, reply, 2, membership_id=target, at=t(60)),
            Done(2, False, reply, at=t(60)),
        ]

    session = FakeSession(
        script=[Step(e) for e in room_events(members)], clock=clock, replies=replies
    )
    room = FakeRoom(session, members, ADA.membership_id)
    holder["room"] = room
    session.room = room  # type: ignore[attr-defined]
    return ConvaiApp(session, clock=clock), session, room


async def test_a_number_key_switches_the_target_and_the_next_reply_comes_from_it() -> None:
    app, session, room = build((ADA, CY, ADA2))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        app.action_show_tab("participants")  # the input no longer takes the digits
        await pilot.pause()
        await pilot.press("2")
        await settle(pilot)
        assert room.calls == [("set_target", CY.membership_id)]
        assert app.model.room.target == CY.membership_id
        assert "Cy [2]" in app.model.room.target_text()
        app.action_show_tab("session")
        await pilot.pause()
        await pilot.press(*"hello", "enter")
        await settle(pilot)
        assert session.called("send_text") == [("hello",)]
        last = app.model.transcript[-1]
        assert (last.role, last.speaker, last.text) == ("character", "Cy", "Cy heard: hello")


async def test_enter_on_a_row_targets_it_and_a_failed_one_is_refused_with_the_reason() -> None:
    app, _session, room = build((ADA, BO, ADA2))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        app.action_show_tab("participants")
        await pilot.pause()
        table = app.screen.query_one(RoomTable)
        keys = [key for key, _ in table.rows_shown]
        assert keys[-3:] == [ADA.membership_id, BO.membership_id, ADA2.membership_id]
        table.move_cursor(row=keys.index(ADA2.membership_id))
        await pilot.press("enter")
        await settle(pilot)
        assert room.last_call() == ("set_target", ADA2.membership_id)
        await pilot.press("2")  # Bo failed to start
        await settle(pilot)
        assert room.target == ADA2.membership_id
        assert "failed to start" in str(app.screen.query_one("#input-hint", Static).content)
        table.move_cursor(row=keys.index(ADA.membership_id))
        await pilot.press("m")
        await pilot.pause()
        assert room.last_call() == ("set_local_mute", ("character-ada-1", True))
        assert "character-ada-1" in app.model.room.locally_muted


async def test_single_character_monitor_ignores_the_room_keys() -> None:
    clock = FakeClock(t(40))
    session = FakeSession(script=[Step(e) for e in connect_events()], clock=clock)
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        app.action_show_tab("participants")
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert not app.model.room.active
        assert not app.screen.query_one(RoomTable).display


def test_snapshot_three_instances_one_clone_one_failed(snap_compare: Callable[..., bool]) -> None:
    app, _session, _room = build((ADA, BO, ADA2), clock_at=40.0)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app.action_show_tab("participants")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(110, 32), run_before=run_before)


async def test_removing_the_target_asks_for_a_replacement_and_add_takes_a_spec() -> None:
    app, _session, room = build((ADA, CY, ADA2))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        app.action_show_tab("participants")
        await pilot.pause()
        table = app.screen.query_one(RoomTable)
        keys = [key for key, _ in table.rows_shown]
        table.move_cursor(row=keys.index(CY.membership_id))  # not the target: only a yes/no
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y", "enter")
        await settle(pilot)
        assert room.last_call() == ("update_roster", ((), (CY.membership_id,), None))
        table.move_cursor(row=keys.index(ADA.membership_id))  # the target
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y", "enter")
        await pilot.pause()
        await pilot.press("3", "enter")
        await settle(pilot)
        assert room.last_call() == ("update_roster", ((), (ADA.membership_id,), ADA2.membership_id))
        cast(MonitorScreen, app.screen).action_room_add()  # what the palette's `roster: add…` runs
        await pilot.pause()
        await pilot.press(*"ada:cs-9", "enter")
        await settle(pilot)
        assert room.last_call() == ("update_roster", ((CharacterSpec("ada", "cs-9"),), (), None))


async def test_delete_asks_first_and_escape_keeps_the_character() -> None:
    app, _session, room = build((ADA, CY, ADA2))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        app.action_show_tab("participants")
        await pilot.pause()
        table = app.screen.query_one(RoomTable)
        keys = [key for key, _ in table.rows_shown]
        table.move_cursor(row=keys.index(CY.membership_id))
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, RoomPrompt)
        assert "Remove Cy [2] (cy)" in app.screen.question
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("n", "enter")  # anything but yes keeps it
        await settle(pilot)
        assert not any(name == "update_roster" for name, _ in room.calls)


async def test_instance_numbers_stay_stable_after_a_removal_and_ids_are_shown() -> None:
    app, session, room = build((ADA, CY, ADA2))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        app.action_show_tab("participants")
        await pilot.pause()
        room.members = (ADA, ADA2)  # Cy [2] removed: Ada #2 stays [3]
        session.publish(room.snapshot(t(45)))
        await settle(pilot)
        view = app.model.room
        assert [view.number_of(m.membership_id) for m in view.members] == [1, 3]
        await pilot.press("2")  # the gap: nobody
        await settle(pilot)
        assert room.calls == []
        await pilot.press("3")
        await settle(pilot)
        assert room.last_call() == ("set_target", ADA2.membership_id)
        assert "Ada #2 [3]" in view.target_text()
        room.members = (ADA, ADA2, BO)  # a newcomer gets a new number, not the freed 2
        session.publish(room.snapshot(t(46)))
        await settle(pilot)
        assert view.number_of(BO.membership_id) == 4
        table = app.screen.query_one(RoomTable)
        cells = dict(zip(COLUMNS, (str(c) for c in table.get_row(BO.membership_id)), strict=True))
        assert (cells["#"], cells["name"], cells["character id"]) == ("4", "Bo", "bo")
        assert "character id" in [str(c.label) for c in table.columns.values()]


async def test_add_offers_the_configured_and_the_room_character_ids() -> None:
    app, _session, room = build((ADA, CY))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        cast(MonitorScreen, app.screen).action_room_add()
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, RoomPrompt)
        assert "known: char-demo-001, ada, cy" in prompt.question
        await pilot.press("c")
        await pilot.pause()
        field = prompt.query_one(Input)
        assert field._suggestion == "char-demo-001"  # → accepts it
        await pilot.press("right", "enter")
        await settle(pilot)
        assert room.last_call() == (
            "update_roster",
            ((CharacterSpec("char-demo-001", None),), (), None),
        )


async def test_a_single_character_session_refuses_roster_add_with_the_reason() -> None:
    clock = FakeClock(t(40))
    session = FakeSession(script=[Step(e) for e in connect_events()], clock=clock)
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        screen = cast(MonitorScreen, app.screen)
        provider = RoomCommands(screen)
        names = [name for name, *_ in provider._commands()]
        assert names == ["roster: add…"]
        screen.action_room_add()
        await pilot.pause()
        assert not isinstance(app.screen, RoomPrompt)
        hint = str(app.screen.query_one("#input-hint", Static).content)
        assert "No multi-character room session is active" in hint
        assert NO_ROOM_REASON.startswith("No multi-character room session is active")


async def test_plus_and_minus_set_a_characters_volume_remembered_in_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app, session, _room = build((ADA, CY, ADA2))
    volumes: list[tuple[str, float]] = []
    session.set_playback_volume = lambda i, db: volumes.append((i, db))  # type: ignore[attr-defined]
    async with app.run_test(size=(130, 32)) as pilot:
        await settle(pilot)
        app.action_show_tab("participants")
        await pilot.pause()
        table = app.screen.query_one(RoomTable)
        keys = [key for key, _ in table.rows_shown]
        table.move_cursor(row=keys.index(ADA2.membership_id))
        await pilot.press("plus", "plus", "minus")
        await pilot.pause()
        # Ada's clone shares her character id, so both instances play 3 dB louder.
        assert dict(volumes[-3:]) == {
            "character-ada-1": 3.0,
            "character-cy-2": 0.0,
            "character-ada-3": 3.0,
        }
        assert app.model.room.volumes_db == {ADA.character_id: 3.0}
        row = table.get_row(ADA2.membership_id)
        assert "+3 dB" in [str(cell) for cell in row]
    saved = json.loads((tmp_path / "convai-tui" / "volumes.json").read_text())
    assert saved == {ADA.character_id: 3.0}


async def levels_shown(
    app: ConvaiApp, session: FakeSession, pilot: Pilot[Any], levels: dict[str, float]
) -> RoomTable:
    """The room table once ``levels`` arrived (cy speaking)."""
    await settle(pilot)
    app.action_show_tab("participants")
    await pilot.pause()
    session.publish(ParticipantLevels(levels=levels, speaking=("character-cy-2",), at=t(41)))
    await settle(pilot)
    return app.screen.query_one(RoomTable)


async def test_participant_levels_drive_the_level_column_and_the_speaking_indicator() -> None:
    app, session, _room = build((ADA, CY, ADA2))
    async with app.run_test(size=(130, 32)) as pilot:
        levels = {"character-cy-2": -18.0, "character-ada-1": -80.0}
        table = await levels_shown(app, session, pilot, levels)
        cy = [str(cell) for cell in table.get_row(CY.membership_id)]
        ada = [str(cell) for cell in table.get_row(ADA.membership_id)]
        assert "speaking" in cy and "▮▮▮▮▯ -18" in cy
        assert "speaking" not in ada and "▯▯▯▯▯ -80" in ada


async def test_alt_digit_switches_the_target_while_the_message_input_has_focus() -> None:
    app, _session, room = build((ADA, CY, ADA2))
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#message-input", Input)
        assert app.focused is field
        await pilot.press("alt+2")  # kitty keyboard protocol terminals
        await settle(pilot)
        assert room.calls == [("set_target", CY.membership_id)]
        await pilot.press("£")  # ESC 3 from tmux/xterm, which Textual names £
        await settle(pilot)
        assert room.last_call() == ("set_target", ADA2.membership_id)
        await pilot.press("2")  # a plain digit is still text while typing
        await pilot.pause()
        assert field.value == "2"
        assert room.last_call() == ("set_target", ADA2.membership_id)


async def test_alt_digit_is_text_in_a_single_character_room() -> None:
    clock = FakeClock(t(40))
    session = FakeSession(script=[Step(e) for e in connect_events()], clock=clock)
    app = ConvaiApp(session, clock=clock)
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        # as a terminal delivers ESC 1 (the pilot would drop the character)
        app.post_message(events.Key("inverted_exclamation_mark", "¡"))
        await pilot.pause()
        assert app.screen.query_one("#message-input", Input).value == "¡"


async def test_an_80_column_terminal_shows_level_volume_and_local_mute() -> None:
    app, session, _room = build((ADA, CY, ADA2))
    async with app.run_test(size=(80, 24)) as pilot:
        table = await levels_shown(app, session, pilot, {"character-cy-2": -18.0})
        widths = {
            str(column.label): column.get_render_width(table) for column in table.columns.values()
        }
        shown = 0
        for name in COLUMNS[: COLUMNS.index("local") + 1]:
            shown += widths[name]
        assert shown <= table.size.width, widths
