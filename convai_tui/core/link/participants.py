"""Who is in the room, as the transport reports it; every change is an event."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from convai_tui.core.api.events import (
    Event,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    participant_event,
)


class ParticipantTable:
    """The participants of the current room by identity."""

    def __init__(self, publish: Callable[[Event], None]) -> None:
        self._publish = publish
        self._by_identity: dict[str, ParticipantInfo] = {}

    def joined(self, infos: Iterable[ParticipantInfo]) -> None:
        """Those already in the room when we joined."""
        for info in infos:
            self._by_identity[info.identity] = info
            self._publish(participant_event(ParticipantJoined, info))

    def change(self, change: str, info: ParticipantInfo) -> None:
        """A transport report: 'joined', 'left' or anything else (an update)."""
        if change == "left":
            self._by_identity.pop(info.identity, None)
            self._publish(participant_event(ParticipantLeft, info))
            return
        self._by_identity[info.identity] = info
        cls = ParticipantJoined if change == "joined" else ParticipantUpdated
        self._publish(participant_event(cls, info))

    def all_left(self) -> None:
        """We left the room: everyone in it is gone for us."""
        for info in list(self._by_identity.values()):
            self._publish(participant_event(ParticipantLeft, info))
        self._by_identity.clear()

    def character_identity(self) -> str | None:
        return next((p.identity for p in self._by_identity.values() if p.kind == "character"), None)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(p) for p in self._by_identity.values()]
