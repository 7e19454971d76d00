"""The room's event handlers get their signature worked out once, not on every event LiveKit
emits, and LiveKit still hands each one the arguments it takes."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from livekit import rtc

from convai_tui.core.link.transport import on_room


async def test_an_emitted_event_reaches_the_handler_without_working_its_signature_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = rtc.Room()
    seen: list[tuple[Any, ...]] = []

    @on_room(room, "track_muted")
    def _muted(participant: object, publication: object) -> None:
        seen.append((participant, publication))

    @on_room(room, "reconnecting")
    def _reconnecting() -> None:
        seen.append(())

    worked_out: list[object] = []
    real = inspect._signature_from_function  # type: ignore[attr-defined]

    def counting(*args: Any, **kwargs: Any) -> inspect.Signature:
        worked_out.append(args[1])
        return real(*args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(inspect, "_signature_from_function", counting)
    for n in range(3):
        room.emit("track_muted", f"p{n}", f"pub{n}", "an argument it does not take")
        room.emit("reconnecting", "an argument it does not take")
    assert seen == [("p0", "pub0"), (), ("p1", "pub1"), (), ("p2", "pub2"), ()]
    assert worked_out == []
