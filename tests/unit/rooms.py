"""Rooms for the roster tests: connect answers, and a clock the tests move by hand."""

from __future__ import annotations

from typing import Any

from convai_tui.core.api.events import Event
from convai_tui.core.multi.roster import Roster
from convai_tui.core.settings.room_request import MemberInfo, RoomConnectInfo

NAMES = {"ada": "Ada", "bob": "Bob"}


def member(
    mid: str, cid: str, *, initial: bool = False, failed: bool = False, identity: str | None = None
) -> MemberInfo:
    return MemberInfo(
        membership_id=mid,
        character_id=cid,
        session_id=f"s-{mid}",
        character_session_id=f"cs-{mid}",
        participant_identity=identity or f"p-{mid}",
        is_initial=initial,
        provisioning_status="dispatch_failed" if failed else "dispatch_accepted",
        failure_code="dispatch_failed" if failed else None,
    )


def three_room(*, failed: str | None = None) -> Roster:
    """Ada (m1, initial), Bob (m2), and a clone of Ada (m3); `failed` = one that failed."""
    members = (
        member("m1", "ada", initial=True, failed=failed == "m1"),
        member("m2", "bob", failed=failed == "m2"),
        member("m3", "ada", failed=failed == "m3"),
    )
    info = RoomConnectInfo("room-1", "m1", 0, 0, failed is not None, members)
    return Roster(info, NAMES)


def ready_all(roster: Roster) -> None:
    for m in roster.members:
        roster.on_character_status({"membership_id": m.membership_id, "status": "ready"})


def types(events: list[Event]) -> list[str]:
    return [e.TYPE for e in events]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ack(
    event_type: str, extras: dict[str, Any], status: str = "success", message: str | None = None
) -> tuple[str, str, str | None, dict[str, Any]]:
    return event_type, status, message, extras
