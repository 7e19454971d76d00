"""Leaving a room is bounded whatever LiveKit does: a disconnect that never confirms is given
up after the deadline (and counted); one that blocks the event loop's own thread ends the
process from the last-resort watchdog."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import cast

import pytest
from livekit import rtc

from convai_tui.core.link import media, transport
from convai_tui.core.link.transport import abandoned_leaves, leave_within


class _Room:
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.calls = 0

    async def disconnect(self) -> None:
        self.calls += 1
        if self.behaviour == "hang":
            await asyncio.Event().wait()
        elif self.behaviour == "fail":
            raise RuntimeError("room already gone")


def _room(behaviour: str) -> rtc.Room:
    return cast(rtc.Room, _Room(behaviour))


async def test_a_leave_that_never_confirms_is_given_up_after_the_deadline() -> None:
    before = abandoned_leaves()
    started = time.monotonic()
    assert await leave_within(_room("hang"), 0.2) is False
    assert time.monotonic() - started < 1.0
    assert abandoned_leaves() == before + 1


async def test_a_confirmed_leave_and_a_room_already_gone_count_as_left() -> None:
    before = abandoned_leaves()
    assert await leave_within(_room("ok"), 0.2) is True
    assert await leave_within(_room("fail"), 0.2) is True
    assert abandoned_leaves() == before


async def test_the_last_resort_is_disarmed_once_the_leave_returns() -> None:
    await leave_within(_room("ok"), 0.05, last_resort_s=0.05)
    await asyncio.sleep(0.3)  # the watchdog would have ended this process by now


BLOCKED_LOOP = """
import asyncio, time
from convai_tui.core.link.transport import leave_within

class Room:
    async def disconnect(self):
        time.sleep(30)  # native code holding the event loop's thread

async def main():
    await leave_within(Room(), 0.5, last_resort_s=0.5)
    print("returned")

asyncio.run(main())
"""


def test_a_leave_that_blocks_the_event_loop_ends_the_process_at_the_last_resort() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_LOOP], capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "returned" not in result.stdout
    assert "leaving the LiveKit room did not finish within 1 s" in result.stderr
    assert took < 10, took


def test_quitting_leaves_within_the_documented_budget() -> None:
    # kill-pipeline's 1 s plus the leave's bound stay inside the ~5 s a quit may take.
    assert transport.LEAVE_WITHIN_S + 1.0 <= 5.0


class _HungAudio:
    async def attach(self, room: object) -> None:
        pass

    async def detach(self) -> None:
        await asyncio.Event().wait()  # unpublishing the mic from a room the server deleted


async def test_stopping_the_audio_on_leaving_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "DETACH_WITHIN_S", 0.2)
    session_media = media.SessionMedia(_HungAudio(), lambda _e: None, lambda e: e)
    started = time.monotonic()
    await session_media.detach()
    assert time.monotonic() - started < 1.0
