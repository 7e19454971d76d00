"""What the stand-in accepts when a room is asked for: the faults and limits (`RoomPolicy`), the
HTTP refusals (`RoomRefused`) and the parsing of a `characters` list.

Split out of local/rooms/roster.py so the room's state machine and the rules a request is held
to can be read (and changed) apart. Codes and bodies follow docs/multi-character.md §4-6.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MULTI_CHARACTER_DISABLED = "multi_character_v0_disabled"
ROSTER_LIMIT_EXCEEDED = "multi_character_roster_limit_exceeded"
DISPATCH_FAILED = "dispatch_failed"
DEFAULT_ROSTER_LIMIT = 50
TARGET = "interaction-target"
ROSTER_UPDATE = "character-roster-update"


class RoomRefused(Exception):
    """`/connect` must fail with this HTTP status and `detail`."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class RoomPolicy:
    """Faults and limits: `--multi-character off`, `--roster-limit N`, `--dispatch-fail ID`."""

    enabled: bool = True
    roster_limit: int = DEFAULT_ROSTER_LIMIT
    dispatch_fail: frozenset[str] = frozenset()
    slow_ready: Mapping[str, float] = field(default_factory=dict)
    """Character id → seconds before its instances report ready (default `ready_delay_s`)."""
    ready_delay_s: float = 0.2
    drop_acks: frozenset[str] = frozenset()
    """Command types whose ack never comes (exercises the client's ack timeouts)."""
    stale_acks: bool = False
    """After each successful ack, send the previous ack of that type again (a stale epoch)."""

    def ready_delay(self, character_id: str) -> float:
        return self.slow_ready.get(character_id, self.ready_delay_s)


def invalid_field(detail: str, field_name: str, value: Any) -> RoomRefused:
    """A 422 shaped like the real API's validation errors."""
    return RoomRefused(
        422, [{"type": "value_error", "loc": ["body", field_name], "msg": detail, "input": value}]
    )


def parse_characters(raw: Any) -> list[tuple[str, str | None]]:
    if not isinstance(raw, list) or not raw:
        raise invalid_field("characters must be a non-empty list", "characters", raw)
    out: list[tuple[str, str | None]] = []
    for entry in raw:
        cid = entry.get("character_id") if isinstance(entry, Mapping) else None
        csid = entry.get("character_session_id") if isinstance(entry, Mapping) else None
        if not isinstance(cid, str) or not cid.strip():
            raise invalid_field("every character needs a character_id", "characters", entry)
        if csid is not None and not isinstance(csid, str):
            raise invalid_field("character_session_id must be a string", "characters", entry)
        out.append((cid, csid or None))
    return out
