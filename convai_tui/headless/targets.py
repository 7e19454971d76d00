"""Headless `--target MEMBERSHIP_OR_INDEX`: once the room is ready, switch the
interaction target, wait for the switch's outcome (its `rebind` line) and for the new target
to be ready, then let the controls and `--say` messages go — to the new target."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from convai_tui.core.api.events import Event, LogRecorded
from convai_tui.core.api.port import SessionPort
from convai_tui.core.multi.events import (
    MemberStatus,
    RoomRebindStateChanged,
    RosterCommandFailed,
)
from convai_tui.core.multi.roster import Roster

SWITCH_WAIT_S = 30.0
"""Upper bound for the ack (10 s) plus a slow target becoming ready."""


class RoomControl(Protocol):
    """What --target needs of the session's room (core.room_session.RoomSession), without
    importing the core's transport into the headless runner."""

    @property
    def roster(self) -> Roster | None: ...

    async def set_target(self, spec: str) -> str | None: ...


class TargetSwitch:
    """One switch, started by the first bot_ready; `observe` sees every event."""

    def __init__(self, session: SessionPort, spec: str, emit: Callable[[Event], None]) -> None:
        self._session = session
        self._spec = spec
        self._emit = emit
        self._task: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()
        self._changed = asyncio.Event()

    def observe(self, event: Event) -> None:
        if isinstance(event, RoomRebindStateChanged) or (
            isinstance(event, RosterCommandFailed) and event.command == "interaction-target"
        ):
            self._settled.set()
        self._changed.set()

    def start(self, then: Callable[[], Awaitable[None]]) -> bool:
        """Start the switch (once); False when there is nothing to switch (then go on now)."""
        if self._task is not None:
            return False
        self._task = asyncio.ensure_future(self._run(then))
        return True

    async def _run(self, then: Callable[[], Awaitable[None]]) -> None:
        room: RoomControl | None = getattr(self._session, "room", None)
        refusal = (
            await room.set_target(self._spec)
            if room is not None
            else "--target needs a multi-character room."
        )
        if refusal is not None:
            self._emit(
                LogRecorded(
                    level="warning", category="roster", message=f"--target {self._spec}: {refusal}"
                )
            )
        else:
            try:
                await asyncio.wait_for(self._settled.wait(), SWITCH_WAIT_S)
                await asyncio.wait_for(self._target_ready(room), SWITCH_WAIT_S)
            except TimeoutError:
                self._emit(
                    LogRecorded(
                        level="warning",
                        category="roster",
                        message=f"--target {self._spec}: no outcome within "
                        f"{SWITCH_WAIT_S:g} s; going on.",
                    )
                )
        await then()

    async def _target_ready(self, room: RoomControl | None) -> None:
        def starting() -> bool:
            target = room.roster.target if room is not None and room.roster else None
            return target is not None and target.status is MemberStatus.STARTING

        while starting():
            self._changed.clear()
            await self._changed.wait()
