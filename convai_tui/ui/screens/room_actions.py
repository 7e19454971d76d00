"""What the monitor does in a multi-character room: number keys 1–9 pick the
target anywhere (except while typing; alt+1…alt+9 also while typing), 0 (alt+0) clears it,
Enter on a room row picks that one, m mutes the selected character's playback locally, +/- make
it louder or quieter here (3 dB steps, remembered per character id in the state dir), delete
removes it after asking (and asks for a replacement target when it is the target), and the
palette's `roster: add…` (offering the known character ids; refused with the reason in a
single-character session). Instance numbers are the room view's, stable for the life of the
room.

A mixin of the monitor screen, so the shared screen and app files only name it. It talks to
the session's room (`SessionCore.room`); outcomes come back as events (the table, the status
bar, the transcript), refusals are shown under the input at once.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from textual.binding import BindingType
from textual.screen import Screen

from convai_tui.config import state_dir
from convai_tui.config.volumes import load_volumes, save_volumes, stepped
from convai_tui.core.multi.events import MemberStatus
from convai_tui.core.settings.multi_config import parse_character_spec
from convai_tui.ui.command_list import Command, CommandListProvider
from convai_tui.ui.registry import ROOM_TARGET_BINDINGS
from convai_tui.ui.screens.room_prompt import RoomPrompt
from convai_tui.ui.widgets.room import RoomTable


def _room(screen: Any) -> Any:
    return getattr(screen.app.session, "room", None)


def _model(screen: Any) -> Any:
    return screen.app.model


class RoomCommands(CommandListProvider):
    """`roster: add…`, `roster: clear target`, `roster: target N` in the command palette."""

    def _commands(self) -> list[Command]:
        screen = self.screen
        if not isinstance(screen, RoomActions):
            return []
        if not _model(screen).room.active:
            # Offered anyway so the palette says why a single-character session cannot grow.
            return [("roster: add…", screen.action_room_add, NO_ROOM_REASON)]
        out: list[Command] = [
            ("roster: add…", screen.action_room_add, "Add a character instance (clones allowed)"),
            (
                "roster: clear target",
                screen.action_room_clear_target,
                "Talk to nobody (a character already speaking finishes)",
            ),
        ]
        view = _model(screen).room
        for member in view.members:
            n = view.number_of(member.membership_id)
            if n is None:
                continue
            out.append(
                (
                    f"roster: target {n} {member.display_name}",
                    partial(screen.action_room_target, n),
                    "Switch the interaction target",
                )
            )
        return out


NO_ROOM_REASON = (
    "No multi-character room session is active: this session has one character and Convai "
    "sends it no roster. Start a room (two or more --character, or `demo --characters N`) "
    "to add characters."
)
YES = ("y", "yes")


class RoomActions(Screen[None]):
    """The room's keys and actions; the monitor screen derives from this."""

    BINDINGS: ClassVar[list[BindingType]] = ROOM_TARGET_BINDINGS
    COMMANDS: ClassVar = {RoomCommands}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action.startswith("room_") and not _model(self).room.active:
            return False  # a single-character room: the digits mean nothing here
        return True

    def _refused(self, reason: str | None) -> None:
        if reason:
            flash = getattr(self, "flash_input_hint", None)
            if callable(flash):
                flash(reason)

    async def _switch(self, spec: str | None) -> None:
        room = _room(self)
        if room is not None:
            self._refused(await room.set_target(spec))

    def action_room_target(self, number: int) -> None:
        member = _model(self).room.by_number(number)
        if member is not None:
            self.run_worker(self._switch(member.membership_id), group="room")

    def action_room_clear_target(self) -> None:
        self.run_worker(self._switch(None), group="room")

    def on_room_table_picked(self, message: RoomTable.Picked) -> None:
        if message.what == "target":
            self.run_worker(self._switch(message.membership_id), group="room")
        elif message.what == "mute":
            self._toggle_mute(message.membership_id)
        elif message.what in ("louder", "quieter"):
            self._change_volume(message.membership_id, 1 if message.what == "louder" else -1)
        elif message.what == "remove":
            self._remove(message.membership_id)

    def _toggle_mute(self, membership_id: str) -> None:
        view = _model(self).room
        member = view.get(membership_id)
        room = _room(self)
        if member is None or not member.participant_identity or room is None:
            return
        identity = member.participant_identity
        muted = identity not in view.locally_muted
        (view.locally_muted.add if muted else view.locally_muted.discard)(identity)
        room.set_local_mute(identity, muted)
        self.query_one(RoomTable).show(_model(self), self.app_now())

    def apply_saved_volumes(self) -> None:
        """Give each instance its character's remembered volume once it has a participant
        (again after a reconnect or a cast change)."""
        view = _model(self).room
        members = tuple((m.participant_identity, m.character_id) for m in view.members)
        if members == getattr(self, "_volumes_for", None):
            return
        self._volumes_for = members
        if not getattr(self, "_volumes_loaded", False):
            self._volumes_loaded = True
            view.volumes_db.update(load_volumes(state_dir()))
        if view.volumes_db:
            self._apply_volumes()

    def _change_volume(self, membership_id: str, steps: int) -> None:
        view = _model(self).room
        member = view.get(membership_id)
        if member is None:
            return
        self.apply_saved_volumes()
        gain_db = stepped(view.volumes_db.get(member.character_id, 0.0), steps)
        view.volumes_db[member.character_id] = gain_db
        save_volumes(state_dir(), view.volumes_db)
        self._apply_volumes()
        self.query_one(RoomTable).show(_model(self), self.app_now())

    def _apply_volumes(self) -> None:
        """Every instance's volume from its character's (clones share it)."""
        view = _model(self).room
        setter = getattr(getattr(self.app, "session", None), "set_playback_volume", None)
        if setter is None:
            return
        for member in view.members:
            if member.participant_identity:
                setter(member.participant_identity, view.volumes_db.get(member.character_id, 0.0))

    def _remove(self, membership_id: str) -> None:
        """Asks first: removing ends that instance's conversation."""
        view = _model(self).room
        member = view.get(membership_id)
        if member is None:
            return

        def confirmed(answer: str | None) -> None:
            if answer is not None and answer.strip().lower() in YES:
                self._remove_confirmed(membership_id)

        self.app.push_screen(
            RoomPrompt(
                f"Remove {member.display_name} [{view.number_of(membership_id)}] "
                f"({member.character_id}) from the room? y + Enter removes, Esc keeps it",
                "y = remove",
            ),
            confirmed,
        )

    def _remove_confirmed(self, membership_id: str) -> None:
        view = _model(self).room
        if membership_id != view.target:
            self.run_worker(self._update(remove=[membership_id]), group="room")
            return
        others = [
            m
            for m in view.members
            if m.membership_id != membership_id and m.status is MemberStatus.READY
        ]
        choices = ", ".join(f"{view.number_of(m.membership_id)} {m.display_name}" for m in others)

        def chosen(answer: str | None) -> None:
            if answer is None:
                return
            pick = next(
                (m for m in others if str(view.number_of(m.membership_id)) == answer.strip()),
                None,
            )
            self.run_worker(
                self._update(
                    remove=[membership_id],
                    replacement=pick.membership_id if pick is not None else None,
                ),
                group="room",
            )

        self.app.push_screen(
            RoomPrompt(
                "The target is being removed: number of the new target (empty = none)",
                choices or "no other ready character",
            ),
            chosen,
        )

    def action_room_add(self) -> None:
        view = _model(self).room
        if not view.active:
            self._refused(NO_ROOM_REASON)
            return
        info = getattr(getattr(self.app, "session", None), "info", None)
        known = view.known_character_ids(getattr(info, "character_id", None))

        def chosen(answer: str | None) -> None:
            if answer:
                try:
                    spec = parse_character_spec(answer)
                except Exception as exc:  # a ConvaiError naming the problem
                    self._refused(str(getattr(exc, "error", exc)))
                    return
                self.run_worker(self._update(add=[spec]), group="room")

        question = "Add a character: CHARACTER_ID[:SESSION_ID]"
        if known:
            question += " (known: " + ", ".join(known) + "; → completes)"
        self.app.push_screen(
            RoomPrompt(question, "CHARACTER_ID[:SESSION_ID]", suggestions=known), chosen
        )

    async def _update(self, **kwargs: Any) -> None:
        room = _room(self)
        if room is not None:
            self._refused(await room.update_roster(**kwargs))

    def app_now(self) -> float:
        clock = getattr(self.app, "clock", None)
        return float(clock()) if callable(clock) else 0.0
