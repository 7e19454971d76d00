"""The Participants tab of a multi-character room: every human (you, others who
joined by key) and every character instance with its number (kept for the life of the room),
whether it is the target, whether it is speaking (by the server's events or by its own audio),
its level, the volume set here, whether this monitor muted it, its status, readiness, failure
code and character id. Joins,
removals, status and target changes stay highlighted for a moment."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import DataTable

from convai_tui.core.multi.events import MemberStatus
from convai_tui.ui.formatting import KIND_LABELS
from convai_tui.ui.model.reducer import FLASH_SECONDS, MonitorModel
from convai_tui.ui.registry import ROOM_TABLE_BINDINGS

COLUMNS = (
    "#",
    "name",
    "target",
    "speaking",
    "level",
    "vol",
    "local",
    "status",
    "ready",
    "failure",
    "character id",
    "kind",
    "membership",
)
"""What changes while you listen and what you set come first, so an 80-column terminal shows
them; the fixed facts of a row come last."""
HUMAN_PREFIX = "human:"
"""Row keys of humans (instances are keyed by membership id)."""


def row_cells(values: dict[str, str]) -> tuple[str, ...]:
    """A row's cells in ``COLUMNS`` order (a column not given is empty)."""
    return tuple(values.get(name, "") for name in COLUMNS)


def level_text(dbfs: float | None) -> str:
    """A participant's level as a short bar and its dBFS (empty before any audio)."""
    if dbfs is None:
        return ""
    filled = max(0, min(5, round((dbfs + 60.0) / 10.0)))
    return "▮" * filled + "▯" * (5 - filled) + f" {dbfs:.0f}"


class RoomTable(DataTable[Text]):
    """One row per human and per instance; Enter picks the target, m mutes, +/- change the
    volume, delete removes."""

    BINDINGS: ClassVar[list[BindingType]] = ROOM_TABLE_BINDINGS

    class Picked(Message):
        """A row's action: `what` is target, mute, louder, quieter or remove; `membership_id`
        the instance."""

        def __init__(self, what: str, membership_id: str) -> None:
            super().__init__()
            self.what = what
            self.membership_id = membership_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.rows_shown: list[tuple[str, str]] = []  # (row key, highlight), for tests
        self._signature: tuple[object, ...] = ()

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    @property
    def selected(self) -> str | None:
        """The membership id of the instance under the cursor (None on a human's row)."""
        if not self.rows_shown or not 0 <= self.cursor_row < len(self.rows_shown):
            return None
        key = self.rows_shown[self.cursor_row][0]
        return None if key.startswith(HUMAN_PREFIX) else key

    def show(self, model: MonitorModel, now: float) -> None:
        room = model.room
        rows: list[tuple[str, str, tuple[str, ...]]] = []

        def heard(identity: str) -> bool:
            return identity in room.speaking_audio

        for row in model.participants.values():
            info = row.info
            if info.kind == "character" or row.left_at is not None:
                continue
            fresh = now - row.changed_at < FLASH_SECONDS and row.change == "joined"
            rows.append(
                (
                    HUMAN_PREFIX + info.identity,
                    "joined" if fresh else "",
                    row_cells(
                        {
                            "name": info.name or info.identity,
                            "kind": KIND_LABELS.get(info.kind, info.kind),
                            "speaking": "speaking" if info.speaking or heard(info.identity) else "",
                            "level": level_text(room.levels.get(info.identity)),
                        }
                    ),
                )
            )
        for member in room.members:
            number = room.number_of(member.membership_id)
            media = model.participants.get(member.participant_identity or "")
            identity = member.participant_identity or ""
            speaking = (media is not None and media.info.speaking) or heard(identity)
            volume = room.volumes_db.get(member.character_id, 0.0)
            when, what = room.changed_at.get(member.membership_id, (0.0, ""))
            flash = what if now - when < FLASH_SECONDS else ""
            rows.append(
                (
                    member.membership_id,
                    flash,
                    row_cells(
                        {
                            "#": str(number) if number is not None else "",
                            "name": member.display_name,
                            "character id": member.character_id,
                            "kind": "character",
                            "status": member.status.value,
                            "ready": "yes" if member.status is MemberStatus.READY else "no",
                            "target": "★ target" if member.membership_id == room.target else "",
                            "speaking": "speaking" if speaking else "",
                            "level": level_text(room.levels.get(identity)),
                            "vol": f"{volume:+.0f} dB" if volume else "",
                            "local": "muted"
                            if member.participant_identity in room.locally_muted
                            else "",
                            "failure": member.failure_code or "",
                            "membership": member.membership_id[:8],
                        }
                    ),
                )
            )
        for mid, member in room.removed.items():
            when, what = room.changed_at.get(mid, (0.0, ""))
            if now - when < FLASH_SECONDS:
                rows.append(
                    (
                        mid,
                        "removed",
                        row_cells(
                            {
                                "name": member.display_name,
                                "character id": member.character_id,
                                "kind": "character",
                                "status": "removed",
                                "membership": mid[:8],
                            }
                        ),
                    )
                )
        signature = tuple(rows)
        if signature == self._signature:
            return
        self._signature = signature
        cursor = self.cursor_row
        self.rows_shown = [(key, flash) for key, flash, _ in rows]
        self.clear()
        for key, flash, cells in rows:
            style = self._flash_style(flash)
            self.add_row(*(Text(c, style=style) for c in cells), key=key)
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1))

    def _flash_style(self, flash: str) -> Style:
        if not flash:
            return Style()
        colour = {"added": "success", "joined": "success", "removed": "error"}.get(flash, "warning")
        value = self.app.theme_variables.get(colour)
        return Style(color=value, bold=True) if value else Style(bold=True)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value or ""
        if not key.startswith(HUMAN_PREFIX):
            self.post_message(self.Picked("target", key))

    def action_mute_selected(self) -> None:
        if self.selected is not None:
            self.post_message(self.Picked("mute", self.selected))

    def action_louder_selected(self) -> None:
        if self.selected is not None:
            self.post_message(self.Picked("louder", self.selected))

    def action_quieter_selected(self) -> None:
        if self.selected is not None:
            self.post_message(self.Picked("quieter", self.selected))

    def action_remove_selected(self) -> None:
        if self.selected is not None:
            self.post_message(self.Picked("remove", self.selected))
